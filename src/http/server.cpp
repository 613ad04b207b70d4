// The HTTP/1.1 server: one io_context and one SO_REUSEPORT acceptor per thread (a Worker,
// worker.hpp), each serving the connections it accepted (session.hpp); this file binds the
// loops, starts them, and stops them on SIGTERM or SIGINT.

#include "http/server.hpp"

#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <list>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "http/session.hpp"
#include "http/worker.hpp"

namespace http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

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
        Worker& w = s.workers.emplace_back(s.app, s.options, [&s] { return s.served(); },
                                           [&s] { asio::post(s.main, [&s] { s.worker_finished(); }); });
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
            start_accepting(w);
            w.ioc.run();
            const bool drained = w.sessions.empty();
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
