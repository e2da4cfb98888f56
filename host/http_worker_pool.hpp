#pragma once
// A fixed pool of threads, each owning one Worker for its whole life: a job runs on
// whichever thread is free, with that thread's Worker, so a Worker (a Lua state) is only
// ever touched by the thread that owns it.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http_server.hpp"

namespace hostsync::http {

class WorkerPool {
public:
    explicit WorkerPool(std::vector<std::unique_ptr<Worker>> workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void submit(std::function<void(Worker&)> job);
    // Runs what is queued, then joins the threads.
    void stop();

private:
    void run(Worker& w);

    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    std::deque<std::function<void(Worker&)>> jobs_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

}  // namespace hostsync::http
