#pragma once
// The server side of an open event stream (text/event-stream over chunked encoding): a
// queue of bytes between whoever produces events (the event hub, or a stream function on
// a worker) and libmicrohttpd's event loop, which pulls from it as the socket takes data.
// When the queue is empty the connection is suspended (it costs no CPU and no thread);
// the next event resumes it. Internal to http_server.cpp.
#include <microhttpd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "event_hub.hpp"
#include "http_server.hpp"

namespace hostsync::http {

// Shared by the server, its streams and its background task: "we are stopping", and a
// way to wake whoever waits for it.
class Lifecycle : public Waiter {
public:
    std::atomic<bool> stopping{false};
    std::atomic<int> in_flight{0};   // requests from headers received to response done

    void stop();
    bool wait(double seconds) override;

private:
    std::mutex mu_;
    std::condition_variable cv_;
};

class StreamConnection : public events::Subscriber, public Stream {
public:
    // Bytes queued beyond which the hub ends a slow client's stream (it resumes from its
    // last event) and a stream function's write() waits.
    static constexpr std::size_t kMaxQueued = 4u << 20;

    StreamConnection(MHD_Connection* conn, Lifecycle& life) : conn_(conn), life_(life) {}

    // Producers (any thread).
    bool deliver(const std::shared_ptr<const std::string>& frame) override;
    void finish() override;
    bool write(std::string_view bytes) override;
    bool wait(double seconds) override { return life_.wait(seconds); }

    // The event loop: the content reader (bytes, 0 after suspending, or an MHD end
    // code), and the end of the response (client gone or stream complete).
    ssize_t read(char* buf, std::size_t max);
    void gone();

    // A ": ping" comment if nothing was queued for `interval`: idle streams still write
    // now and then, or a client that left would only be noticed at the next event.
    void ping_if_idle(std::chrono::steady_clock::time_point now, double interval);

    // The hub subscription to drop when the response ends (0: none).
    std::string topic;
    std::uint64_t subscription = 0;

private:
    // Under mu_: queues a frame and wakes the connection if it sleeps.
    void push_locked(std::shared_ptr<const std::string> frame);

    MHD_Connection* conn_;
    Lifecycle& life_;
    std::mutex mu_;
    std::condition_variable drained_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    std::size_t offset_ = 0;            // bytes of queue_.front() already handed out
    std::size_t queued_ = 0;            // bytes in the queue not yet handed out
    bool parked_ = false;               // suspended in read(): resume on the next push
    bool finishing_ = false;            // end once the queue is drained
    bool gone_ = false;                 // the response is over
    std::chrono::steady_clock::time_point last_push_ = std::chrono::steady_clock::now();
};

}  // namespace hostsync::http
