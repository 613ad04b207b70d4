#pragma once
// One of the server's event-loop threads (server.cpp): its io_context, its SO_REUSEPORT
// acceptor, the connections it accepted, its timeouts and its drain. Shared nothing with
// the other loops on the request path. Private to http.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_set>

#include "core/task.hpp"
#include "http/app.hpp"
#include "http/server.hpp"
#include "http/stream_lane.hpp"

namespace http {

using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// The server's own numbers, in one place.
struct ServerTuning {
    // How often a loop looks for connections past their deadline: a timeout ends between
    // its time and this much later. One sweep per loop, not a timer per operation (a
    // timer per read and write cost a timerfd_settime call for every fifth request).
    static constexpr std::chrono::milliseconds sweep_interval{250};
    // Connections already waiting in the listener's queue that a loop accepts in one go
    // after the one it waited for: one accept per completion went to the back of the loop's
    // queue each time, behind every ready connection, and the last of thousands opened
    // together waited seconds with their first request sent.
    static constexpr std::size_t accept_batch = 1024;
    // How long after its last streamed answer a loop gives back the memory they freed.
    static constexpr std::chrono::seconds release_after{1};
    // How many ready sockets Asio's reactor takes from epoll in one pass (epoll_reactor::run
    // waits for at most 128 events). Above this many connections on a loop, a connection's
    // next request waits its turn in epoll's queue instead of being read at once after its
    // answer: otherwise the busy connections were served again and again while those in
    // epoll's queue were let in 128 a pass.
    static constexpr std::size_t ready_per_pass = 128;
    // After a failed accept (out of file descriptors and the like): a pause, not a spin.
    static constexpr std::chrono::milliseconds accept_backoff{50};
};

struct Session;

struct Worker {
    // `served_everywhere`: requests answered on every loop (for the lane); `drained`: called
    // on this loop once a drain has ended every connection.
    Worker(App& app, const ServerOptions& options, std::function<std::uint64_t()> served_everywhere,
           std::function<void()> drained);

    App& app;
    const ServerOptions& options;
    boost::asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::unique_ptr<WorkerState> state;
    std::unordered_set<Session*> sessions;
    boost::asio::steady_timer sweep{ioc};
    boost::asio::steady_timer release{ioc};  // see after_streamed_answer()
    // Requests answered on this loop so far, streamed answers aside; written by the loop
    // only, read by every loop's lane (a cache line of its own: no sharing on the request path).
    alignas(64) std::atomic<std::uint64_t> served{0};
    StreamLane lane;
    bool sweeping = false;
    bool draining = false;
    bool accepting = true;
    Clock::time_point drain_started{};
    std::thread thread;

    // Stops accepting and lets the connections end (server.cpp's begin_shutdown, on this loop).
    void begin_drain();
    // What is left of a draining worker's grace for idle connections (KEEPALIVE_TIMEOUT from
    // the drain's start); without a drain, no limit.
    Clock::duration drain_grace() const;
    void finish_if_drained();
    // Closes the connections past their deadline, every ServerTuning::sweep_interval while
    // there are connections.
    void watch_deadlines();
    // Accepts up to `limit` connections waiting in the listener's queue, without waiting.
    void accept_waiting(std::size_t limit);
    // A streamed answer ended: once none has for ServerTuning::release_after, the memory they
    // freed goes back to the system (core::release_free_memory).
    void after_streamed_answer();

private:
    std::function<void()> drained_;
};

// Accepts connections on the worker's loop until it drains, each served by serve_session
// (session.hpp).
void start_accepting(Worker& w);

}  // namespace http
