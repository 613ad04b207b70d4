// With wire.cpp and connection.cpp, the only translation units that see Beast and
// Asio's sockets.
//
// Each thread runs its own io_context with its own SO_REUSEPORT acceptor; a
// connection lives on the thread that accepted it. A connection's life is one
// coroutine: wait for a request, read it within limits, let the App answer it,
// write the answer, and again while the connection is kept alive. Pipelined
// requests are read from the same buffer one after another, so they are answered
// in order.

#include "http/server.hpp"

#include <pthread.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <charconv>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <coroutine>
#include <iterator>
#include <csignal>
#include <limits>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <unordered_set>

#include "core/asio_op.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "http/connection.hpp"
#include "http/wire.hpp"

namespace http {

using core::async_op;
using core::async_wait_op;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
using Clock = std::chrono::steady_clock;

// How often a worker looks for connections past their deadline: a timeout ends between
// its time and a quarter of a second later.
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
// How many waiting connections a worker accepts in one go, after the one it waited for.
constexpr std::size_t kAcceptBatch = 1024;
// How long after its last streamed answer a loop gives back the memory freed meanwhile.
constexpr auto kReleaseAfter = std::chrono::seconds(1);
// How many ready sockets Asio's reactor takes from epoll in one pass over a loop's queue
// (epoll_reactor::run: epoll_wait for at most 128 events). A connection that reads its next
// request speculatively, right after its answer, skips that queue: above this many
// connections on a loop, the connections that keep busy were served again and again while
// those waiting in epoll's queue were let in 128 a pass. Measured on SQLite with wrk at 5,000
// connections: first requests read 0.2-0.6 s after they were sent, p99 0.35-0.6 s in 10 s
// runs (the queueing alone: ~0.17 s).
constexpr std::size_t kReadyPerPass = 128;

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

}  // namespace

struct Worker {
    Server::Impl& server;
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::unique_ptr<WorkerState> state;
    std::unordered_set<Connection*> connections;
    asio::steady_timer sweep{ioc};
    asio::steady_timer release{ioc};  // see after_streamed_answer()
    // Requests answered on this loop so far, streamed answers aside; written by the loop only, read by
    // every loop's lane (a line of its own: no sharing on the request path).
    alignas(64) std::atomic<std::uint64_t> served{0};
    StreamLane lane;
    bool sweeping = false;
    bool draining = false;
    bool accepting = true;
    std::thread thread;

    explicit Worker(Server::Impl& s);
    Clock::time_point drain_started{};
    void begin_drain();
    // What is left of a draining worker's grace for idle connections (KEEPALIVE_TIMEOUT from
    // the drain's start); without a drain, no limit.
    Clock::duration drain_grace() const;
    void finish_if_drained();
    void watch_deadlines();
    // Accepts up to `limit` connections waiting in the listener's queue, without waiting.
    void accept_waiting(std::size_t limit);
    // A streamed answer ended: once none has for kReleaseAfter, the memory they freed goes
    // back to the system (core::release_free_memory).
    void after_streamed_answer();
};

struct Server::Impl {
    App& app;
    ServerOptions options;
    WorkerInit init;
    std::list<Worker> workers;
    asio::io_context main{1};
    std::atomic<unsigned> finished{0};
    bool shutting_down = false;
    asio::steady_timer deadline{main};

    Impl(App& a, ServerOptions o, WorkerInit i) : app(a), options(std::move(o)), init(std::move(i)) {}

    void bind(Worker& w, const tcp::endpoint& endpoint);
    // Requests answered so far (streamed answers aside), on every loop.
    std::uint64_t served() const {
        std::uint64_t n = 0;
        for (const Worker& w : workers) n += w.served.load(std::memory_order_relaxed);
        return n;
    }
    void begin_shutdown();
    void worker_finished();
};

Worker::Worker(Server::Impl& s) : server(s), lane(ioc, [&s] { return s.served(); }) {}

namespace {

core::Task<void> serve_connection(Worker& w, tcp::socket socket) {
    const ServerOptions& opt = w.server.options;
    Connection conn(std::move(socket));
    w.connections.insert(&conn);
    w.watch_deadlines();
    struct Unregister {
        Worker& w;
        Connection* c;
        ~Unregister() {
            w.connections.erase(c);
            w.finish_if_drained();
        }
    } unregister{w, &conn};

    beast::flat_buffer buffer;
    bool first = true;
    beast::error_code peer_ec;
    const auto remote = conn.socket.remote_endpoint(peer_ec);
    const std::string peer = peer_ec ? std::string() : remote.address().to_string();
    // While the server drains, a connection is still served: its next request is answered
    // (with Connection: close), and an idle one is closed by its deadline (Worker::begin_drain).
    for (;;) {
        if (buffer.size() == 0) {
            conn.idle = true;
            conn.expires_after(std::min<Clock::duration>(first ? opt.header_timeout : opt.keepalive_timeout, w.drain_grace()));
            beast::error_code ec;
            std::size_t n = 0;
            if (w.connections.size() > kReadyPerPass) {
                // More connections than a pass takes: the next request waits its turn in
                // epoll's queue, then is read at once (the socket is non-blocking).
                std::tie(ec, std::ignore) = co_await async_wait_op(
                    [&](auto cb) { conn.socket.async_wait(tcp::socket::wait_read, std::move(cb)); });
                if (!ec) n = conn.socket.read_some(buffer.prepare(4096), ec);
                if (ec == asio::error::would_block) ec.clear();  // woken for nothing (n is 0): wait again
            } else {
                std::tie(ec, n) = co_await async_op(
                    [&](auto cb) { conn.socket.async_read_some(buffer.prepare(4096), std::move(cb)); });
            }
            conn.idle = false;
            if (ec) break;  // idle timeout, the peer closed, or shutdown closed an idle connection
            buffer.commit(n);
            if (n == 0) continue;
        }
        first = false;

        Parser parser;
        parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
        parser.body_limit(opt.body_limit);
        // Answers what the routes never see, through the App's middleware, then closes.
        const auto refuse = [&](int status, std::string_view detail) {
            return reject(conn, parser, status, detail, opt.header_timeout, w.server.app, w.state.get(), w.lane, peer);
        };
        conn.expires_after(opt.header_timeout);
        auto [hec, hn] =
            co_await async_op([&](auto cb) { bhttp::async_read_header(conn.socket, buffer, parser, std::move(cb)); });
        if (hec == bhttp::error::body_limit) {
            co_await refuse(413, "Request body too large");
            co_await linger(conn);
            break;
        }
        if (hec == bhttp::error::header_limit) {
            co_await refuse(431, "Request header fields too large");
            break;
        }
        if (hec) {
            if (!is_disconnect(hec)) co_await refuse(400, "Bad Request");
            break;
        }
        if (const auto problem = framing_problem(parser.get(), opt.header_line_limit); problem.status != 0) {
            co_await refuse(problem.status, problem.detail);
            co_await linger(conn);  // what follows the headers is never read as a request
            break;
        }

        if (!parser.is_done()) {
            if (const auto expect = parser.get()[bhttp::field::expect]; beast::iequals(expect, "100-continue")) {
                static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
                auto [cec, cn] = co_await async_op([&](auto cb) {
                    asio::async_write(conn.socket, asio::buffer(cont.data(), cont.size()), std::move(cb));
                });
                if (cec) break;
            }
            conn.expires_after(opt.header_timeout);
            auto [bec, bn] =
                co_await async_op([&](auto cb) { bhttp::async_read(conn.socket, buffer, parser, std::move(cb)); });
            if (bec == bhttp::error::body_limit) {
                co_await refuse(413, "Request body too large");
                co_await linger(conn);
                break;
            }
            if (bec) {
                if (!is_disconnect(bec)) co_await refuse(400, "Bad Request");
                break;
            }
        }
        conn.deadline = Clock::time_point::max();  // the App takes its time (the database has its own limits)

        auto msg = parser.release();
        const unsigned version = msg.version();
        const bool client_keep_alive = msg.keep_alive();
        const bool head = msg.method() == bhttp::verb::head;
        Request req = to_request(std::move(msg));
        req.remote_address = peer;
        Response res = co_await w.server.app.handle(req, w.state.get());
        const bool streamed = res.stream != nullptr;
        // Only this loop writes it: no atomic read-modify-write needed. A streamed answer is
        // not counted: streams must not slow each other down (StreamLane).
        if (!streamed) w.served.store(w.served.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);

        // A streamed answer to HTTP/1.0 ends with the connection (it has no chunks).
        const bool keep_alive = client_keep_alive && !w.draining && !(streamed && version == 10);
        beast::error_code wec;
        co_await write_response(conn, std::move(res), Framing{.version = version, .keep_alive = keep_alive, .head = head},
                                opt.header_timeout, w.lane, wec);
        if (streamed) w.after_streamed_answer();
        if (wec || !keep_alive) break;
    }
    beast::error_code ignored;  // the peer may be gone already; nothing to do about it
    conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
}

void start_connection(Worker& w, tcp::socket socket) {
    beast::error_code ignored;  // Nagle off is an optimisation; a socket that refuses it still works
    socket.set_option(tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);  // serve_connection's read after a wait must not block
    core::spawn(serve_connection(w, std::move(socket)),
                [](std::exception_ptr e) { log_exception("connection ended by an exception", e); });
}

}  // namespace

void Worker::after_streamed_answer() {
    release.expires_after(kReleaseAfter);  // a wait already set ends as cancelled
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
            // Out of file descriptors and the like: wait a little instead of spinning.
            core::log::warn("accept failed", {{"error", ec.message()}});
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await async_wait_op([&](auto cb) { backoff.async_wait(std::move(cb)); });
            continue;
        }
        start_connection(w, std::move(socket));
        // The others already waiting, at once. One accept per completion went to the back
        // of the loop's queue each time, behind every ready connection: at 5,000 connections
        // opened together, the last ones waited seconds with their first request sent
        // (wrk: 1,103 requests unanswered for 2 s, SQLite). The listener is non-blocking.
        w.accept_waiting(kAcceptBatch);
    }
    w.accepting = false;
    w.finish_if_drained();
}

}  // namespace

// Closing an idle keep-alive connection races with a client (a proxy's upstream pool) that
// sends its next request on it at that moment: the request is lost, and a proxy rightly does
// not retry a POST (nginx: 502 "upstream prematurely closed connection"). So a drain stops
// accepting and closes nothing early: a request that comes on an open connection is answered,
// with Connection: close; an idle connection is closed when its keep-alive time (at most
// KEEPALIVE_TIMEOUT from now) runs out, after the proxy has stopped using it if the proxy's own
// idle timeout is shorter (README: Deployment).
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
    const auto latest = drain_started + server.options.keepalive_timeout;
    for (Connection* c : connections)
        if (c->idle && c->deadline > latest) c->deadline = latest;
    finish_if_drained();
}

Clock::duration Worker::drain_grace() const {
    if (!draining) return Clock::duration::max();
    return std::max(Clock::duration::zero(), drain_started + server.options.keepalive_timeout - Clock::now());
}

void Worker::finish_if_drained() {
    if (draining && !accepting && connections.empty()) {
        draining = false;  // report once
        accepting = true;
        sweep.cancel();  // nothing left to time out; the loop may end
        release.cancel();
        asio::post(server.main, [this] { server.worker_finished(); });
    }
}

// Timeouts by one sweep per worker rather than a timer per operation (Beast's tcp_stream
// armed one for every read and write: a timerfd_settime call for every fifth request under
// load, and a cancelled wait to complete each time; bench/README.md, step 16).
void Worker::watch_deadlines() {
    if (sweeping || connections.empty()) return;
    sweeping = true;
    sweep.expires_after(kSweepInterval);
    sweep.async_wait([this](const beast::error_code& ec) {
        sweeping = false;
        if (ec) return;  // cancelled: drained
        const auto now = Clock::now();
        for (Connection* c : connections) {
            if (c->deadline > now) continue;
            c->deadline = Clock::time_point::max();
            beast::error_code ignored;  // closing ends the pending operation with an error
            c->socket.close(ignored);
        }
        watch_deadlines();
    });
}

void Server::Impl::bind(Worker& w, const tcp::endpoint& endpoint) {
    beast::error_code ec;
    w.acceptor.open(endpoint.protocol(), ec);
    if (!ec) w.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) w.acceptor.set_option(reuse_port(true), ec);
    if (!ec) w.acceptor.bind(endpoint, ec);
    if (!ec) w.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) w.acceptor.non_blocking(true, ec);  // accept_loop takes what waits without blocking
    if (ec)
        throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                                 std::to_string(endpoint.port()) + ": " + ec.message());
}

void Server::Impl::begin_shutdown() {
    if (shutting_down) return;
    shutting_down = true;
    core::log::info("shutting down", {{"grace_seconds", static_cast<std::int64_t>(options.shutdown_timeout.count())}});
    for (Worker& w : workers) asio::post(w.ioc, [&w] { w.begin_drain(); });
    deadline.expires_after(options.shutdown_timeout);
    deadline.async_wait([this](beast::error_code ec) {
        if (ec) return;  // cancelled: every worker drained in time
        core::log::warn("shutdown deadline passed; closing remaining connections");
        for (Worker& w : workers) w.ioc.stop();
        main.stop();
    });
}

void Server::Impl::worker_finished() {
    if (++finished == workers.size()) {
        deadline.cancel();
        main.stop();
    }
}

Server::Server(App& app, ServerOptions options, WorkerInit init)
    : impl_(std::make_unique<Impl>(app, std::move(options), std::move(init))) {}

Server::~Server() = default;

void Server::stop() {
    asio::post(impl_->main, [impl = impl_.get()] { impl->begin_shutdown(); });
}

void Server::run() {
    Impl& s = *impl_;
    beast::error_code ec;
    auto address = asio::ip::make_address(s.options.host, ec);
    tcp::endpoint endpoint;
    if (ec) {
        tcp::resolver resolver(s.main);
        auto results = resolver.resolve(s.options.host, std::to_string(s.options.port), ec);
        if (ec || results.empty())
            throw std::runtime_error("cannot resolve HOST " + s.options.host + ": " + ec.message());
        endpoint = results.begin()->endpoint();
    } else {
        endpoint = tcp::endpoint(address, s.options.port);
    }

    for (unsigned i = 0; i < std::max(1u, s.options.threads); ++i) {
        Worker& w = s.workers.emplace_back(s);
        s.bind(w, endpoint);
        if (i == 0) endpoint.port(w.acceptor.local_endpoint().port());  // port 0: the others share the one chosen
        w.state = s.init ? s.init(w.ioc) : nullptr;
    }

    asio::signal_set signals(s.main, SIGINT, SIGTERM);
    signals.async_wait([&s](beast::error_code e, int) {
        if (!e) s.begin_shutdown();
    });

    unsigned index = 0;
    for (Worker& w : s.workers) {
        w.thread = std::thread([&w, index, name = s.options.thread_name] {
            // Named, so that top -H and /proc/<pid>/task tell the loops from the hashing pool.
            pthread_setname_np(pthread_self(), (name + std::to_string(index)).substr(0, 15).c_str());
            core::spawn(accept_loop(w), [](std::exception_ptr e) {
                log_exception("the accept loop ended by an exception; this thread accepts no more", e);
            });
            w.ioc.run();
            const bool drained = w.connections.empty();
            w.state.reset();
            // Let what closing the state cancelled finish, so that nothing is left holding
            // memory; not after a deadline, when unfinished requests would run on.
            if (drained) {
                w.ioc.restart();
                while (w.ioc.poll() > 0) {
                }
            }
        });
        ++index;
    }
    core::log::info(s.options.listening_message, {{"host", s.options.host},
                                  {"port", static_cast<std::int64_t>(endpoint.port())},
                                  {"threads", static_cast<std::int64_t>(s.workers.size())}});

    s.main.run();
    signals.cancel();
    for (Worker& w : s.workers) {
        w.ioc.stop();
        if (w.thread.joinable()) w.thread.join();
    }
    core::log::info("stopped");
}

}  // namespace http
