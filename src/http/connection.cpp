#include "http/connection.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include "core/asio_op.hpp"
#include "core/log.hpp"
#include "http/app.hpp"
#include "http/wire.hpp"

namespace http {

using core::async_op;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

bool is_disconnect(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||  // closed: timed out
           ec == asio::error::broken_pipe || ec == bhttp::error::partial_message;
}

core::Task<bool> StreamLane::enter() {
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= busy_until_) co_return false;  // nothing else served lately: no turns
        if (!taken_ && now >= free_at_) {
            taken_ = true;
            gate_.expires_at(std::chrono::steady_clock::time_point::max());  // the others wait for leave()
            co_return true;
        }
        // Woken when the lane frees (leave() cancels the wait) or its rest is over. A gate
        // already open while the lane is taken (a piece without a turn left meanwhile) is
        // closed first, or the wait would not wait.
        if (taken_ && gate_.expiry() <= now) gate_.expires_at(std::chrono::steady_clock::time_point::max());
        co_await core::async_wait_op([&](auto cb) { gate_.async_wait(std::move(cb)); });
    }
}

void StreamLane::leave(std::chrono::steady_clock::duration took, bool turn) {
    if (turn) taken_ = false;
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t served = served_();
    if (served != last_served_) busy_until_ = now + kBusyFor;
    last_served_ = served;
    if (now < busy_until_) free_at_ = std::max(free_at_, now + kStreamRest * took);
    // Those waiting look again: at the end of the rest, or now if all is quiet again.
    if (!taken_) gate_.expires_at(now < busy_until_ ? free_at_ : now);
}

namespace {

core::Task<void> write_out(Connection& conn, std::chrono::seconds timeout, beast::error_code& ec) {
    conn.expires_after(timeout);
    auto [err, n] = co_await async_op(
        [&](auto cb) { asio::async_write(conn.socket, asio::buffer(conn.out), std::move(cb)); });
    ec = err;
}

// The rest of a streamed body, a piece at a time: each written (within `timeout`) before
// the next is asked for.
core::Task<void> write_rest(Connection& conn, BodyStream& stream, unsigned version, std::chrono::seconds timeout,
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

core::Task<void> write_response(Connection& conn, Response res, const Framing& framing, std::chrono::seconds timeout,
                                StreamLane& lane, beast::error_code& ec) {
    render_response(conn.out, res, framing);
    co_await write_out(conn, timeout, ec);
    if (res.stream && !framing.head && !ec) co_await write_rest(conn, *res.stream, framing.version, timeout, lane, ec);
}

core::Task<void> reject(Connection& conn, const Parser& parser, int status, std::string_view detail,
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

core::Task<void> linger(Connection& conn) {
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
