// A loop of the server (worker.hpp): accepting, timeouts, the drain.

#include "http/worker.hpp"

#include <boost/asio/post.hpp>
#include <limits>

#include "core/asio_op.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "http/session.hpp"

namespace http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using core::async_wait_op;

namespace {

// Logs what ended a task, with what it said (nothing if it ended normally).
void log_exception(const char* what_ended, std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        core::log::error(what_ended, {{"error", ex.what()}});
    } catch (...) {
        core::log::error(what_ended);
    }
}

void start_connection(Worker& w, tcp::socket socket) {
    beast::error_code ignored;  // Nagle off is an optimisation; a socket that refuses it still works
    socket.set_option(tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);  // serve_session's read after a wait must not block
    core::spawn(serve_session(w, std::move(socket)),
                [](std::exception_ptr e) { log_exception("connection ended by an exception", e); });
}

}  // namespace

Worker::Worker(App& a, const ServerOptions& o, std::function<std::uint64_t()> served_everywhere,
               std::function<void()> drained)
    : app(a), options(o), lane(ioc, std::move(served_everywhere)), drained_(std::move(drained)) {}

void Worker::after_streamed_answer() {
    release.expires_after(ServerTuning::release_after);  // a wait already set ends as cancelled
    release.async_wait([](const beast::error_code& ec) {
        if (!ec) core::release_free_memory();
    });
}

void Worker::accept_waiting(std::size_t limit) {
    for (std::size_t i = 0; i < limit; ++i) {
        tcp::socket socket(ioc);
        beast::error_code ec;  // none left, or a failure that the next async_accept reports
        acceptor.accept(socket, ec);
        if (ec) break;
        start_connection(*this, std::move(socket));
    }
}

namespace {

core::Task<void> accept_loop(Worker& w) {
    asio::steady_timer backoff(w.ioc);
    while (!w.draining) {
        tcp::socket socket(w.ioc);
        auto [ec, n] = co_await async_wait_op([&](auto cb) { w.acceptor.async_accept(socket, std::move(cb)); });
        if (w.draining) break;
        if (ec) {
            core::log::warn("accept failed", {{"error", ec.message()}});
            backoff.expires_after(ServerTuning::accept_backoff);
            co_await async_wait_op([&](auto cb) { backoff.async_wait(std::move(cb)); });
            continue;
        }
        start_connection(w, std::move(socket));
        w.accept_waiting(ServerTuning::accept_batch);  // the others already waiting, at once (non-blocking)
    }
    w.accepting = false;
    w.finish_if_drained();
}

}  // namespace

void start_accepting(Worker& w) {
    core::spawn(accept_loop(w), [](std::exception_ptr e) {
        log_exception("the accept loop ended by an exception; this thread accepts no more", e);
    });
}

// Closing an idle keep-alive connection races with a client (a proxy's upstream pool) that
// sends its next request on it at that moment: the request is lost, and a proxy rightly does
// not retry a POST (nginx: 502 "upstream prematurely closed connection"). So a drain stops
// accepting and closes nothing early: a request that comes on an open connection is answered,
// with Connection: close; an idle connection is closed when its keep-alive time (at most
// KEEPALIVE_TIMEOUT from now) runs out, after the proxy has stopped using it if the proxy's own
// idle timeout is shorter (docs/deployment.md).
//
// Connections the kernel has already completed, waiting in the listener's queue, would be
// reset when it closes, and a proxy may have sent a request on one: they are taken first
// (and served like the others). A connection attempt after the close is refused, which a
// proxy retries on another replica, POST included (nothing was sent).
void Worker::begin_drain() {
    draining = true;
    drain_started = Clock::now();
    accept_waiting(std::numeric_limits<std::size_t>::max());
    beast::error_code ignored;  // closing an acceptor that failed to open is harmless
    acceptor.close(ignored);
    const auto latest = drain_started + options.keepalive_timeout;
    for (Session* c : sessions)
        if (c->idle && c->deadline > latest) c->deadline = latest;
    finish_if_drained();
}

Clock::duration Worker::drain_grace() const {
    if (!draining) return Clock::duration::max();
    return std::max(Clock::duration::zero(), drain_started + options.keepalive_timeout - Clock::now());
}

void Worker::finish_if_drained() {
    if (draining && !accepting && sessions.empty()) {
        draining = false;  // report once
        accepting = true;
        sweep.cancel();  // nothing left to time out; the loop may end
        release.cancel();
        drained_();
    }
}

void Worker::watch_deadlines() {
    if (sweeping || sessions.empty()) return;
    sweeping = true;
    sweep.expires_after(ServerTuning::sweep_interval);
    sweep.async_wait([this](const beast::error_code& ec) {
        sweeping = false;
        if (ec) return;  // cancelled: drained
        const auto now = Clock::now();
        for (Session* c : sessions) {
            if (c->deadline > now) continue;
            c->deadline = Clock::time_point::max();
            beast::error_code ignored;  // closing ends the pending operation with an error
            c->socket.close(ignored);
        }
        watch_deadlines();
    });
}

}  // namespace http
