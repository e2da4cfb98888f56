#include "http_worker_pool.hpp"

namespace hostsync::http {

WorkerPool::WorkerPool(std::vector<std::unique_ptr<Worker>> workers) : workers_(std::move(workers)) {
    for (auto& w : workers_) threads_.emplace_back([this, wp = w.get()] { run(*wp); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::submit(std::function<void(Worker&)> job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
}

void WorkerPool::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void WorkerPool::run(Worker& w) {
    for (;;) {
        std::function<void(Worker&)> job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
            if (jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job(w);
    }
}

}  // namespace hostsync::http
