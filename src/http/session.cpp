// With wire.cpp, worker.cpp and server.cpp, the only translation units that see Beast and
// Asio's sockets.

#include "http/session.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <tuple>

#include "core/asio_op.hpp"
#include "core/log.hpp"
#include "http/worker.hpp"

namespace http {

using core::async_op;
using core::async_wait_op;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

bool is_disconnect(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||  // closed: timed out
           ec == asio::error::broken_pipe || ec == bhttp::error::partial_message;
}

core::Task<void> serve_session(Worker& w, tcp::socket socket) {
    const ServerOptions& opt = w.options;
    Session conn(std::move(socket));
    w.sessions.insert(&conn);
    w.watch_deadlines();
    struct Unregister {
        Worker& w;
        Session* c;
        ~Unregister() {
            w.sessions.erase(c);
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
            if (w.sessions.size() > ServerTuning::ready_per_pass) {
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
            return reject(conn, parser, status, detail, opt.header_timeout, w.app, w.state.get(), w.lane, peer);
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
        Response res = co_await w.app.handle(req, w.state.get());
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

namespace {

core::Task<void> write_out(Session& conn, std::chrono::seconds timeout, beast::error_code& ec) {
    conn.expires_after(timeout);
    auto [err, n] = co_await async_op(
        [&](auto cb) { asio::async_write(conn.socket, asio::buffer(conn.out), std::move(cb)); });
    ec = err;
}

// The rest of a streamed body, a piece at a time: each written (within `timeout`) before
// the next is asked for.
core::Task<void> write_rest(Session& conn, BodyStream& stream, unsigned version, std::chrono::seconds timeout,
                            StreamLane& lane, beast::error_code& ec) {
    std::string piece;
    for (bool more = true; more && !ec;) {
        piece.clear();
        const bool turn = co_await lane.enter();
        const auto start = std::chrono::steady_clock::now();
        try {
            more = co_await stream.next(piece);
            lane.leave(std::chrono::steady_clock::now() - start, turn);
        } catch (const std::exception& e) {
            lane.leave(std::chrono::steady_clock::now() - start, turn);
            // Reset, not closed: with HTTP/1.0 an orderly close would end the body as if whole.
            core::log::error("streamed answer failed; connection reset", {{"error", e.what()}});
            beast::error_code ignored;  // the socket goes anyway
            conn.socket.set_option(asio::socket_base::linger(true, 0), ignored);
            conn.socket.close(ignored);
            ec = asio::error::connection_aborted;
            co_return;
        }
        conn.out.clear();
        render_piece(conn.out, piece, version, !more);
        co_await write_out(conn, timeout, ec);
    }
    // A long answer's pieces grew the buffer: not kept for the connection's next answers.
    if (conn.out.capacity() > 64 * 1024) std::string().swap(conn.out);
}

}  // namespace

core::Task<void> write_response(Session& conn, Response res, const Framing& framing, std::chrono::seconds timeout,
                                StreamLane& lane, beast::error_code& ec) {
    render_response(conn.out, res, framing);
    co_await write_out(conn, timeout, ec);
    if (res.stream && !framing.head && !ec) co_await write_rest(conn, *res.stream, framing.version, timeout, lane, ec);
}

core::Task<void> reject(Session& conn, const Parser& parser, int status, std::string_view detail,
                        std::chrono::seconds timeout, App& app, WorkerState* state, StreamLane& lane,
                        const std::string& peer) {
    Request req;  // as much of it as was read, for the middleware and the log line
    const bool head = parser.is_header_done() && parser.get().method() == bhttp::verb::head;
    if (parser.is_header_done()) {
        req.method = std::string(parser.get().method_string());
        req.set_target(parser.get().target());
        for (const auto& field : parser.get()) req.headers.add(field.name_string(), field.value());
    }
    req.remote_address = peer;
    Response res = co_await app.handle(req, state, Response::detail(status, detail));
    beast::error_code ec;
    co_await write_response(conn, std::move(res), Framing{.version = 11, .keep_alive = false, .head = head}, timeout,
                            lane, ec);
}

core::Task<void> linger(Session& conn) {
    beast::error_code ignored;  // the peer may already be gone
    conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
    conn.expires_after(std::chrono::seconds(2));
    std::array<char, 16384> scratch;
    std::size_t total = 0;
    while (total < 16 * 1024 * 1024) {
        auto [ec, n] = co_await async_op(
            [&](auto cb) { conn.socket.async_read_some(asio::buffer(scratch), std::move(cb)); });
        if (ec) break;
        total += n;
    }
}

}  // namespace http
