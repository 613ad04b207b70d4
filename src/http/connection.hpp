#pragma once
// A client's connection as the server holds it (server.cpp), and what is written on it
// besides the App's answers: the answer to a request the App never saw, the linger
// before closing. Private to http.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "http/app.hpp"
#include "http/message.hpp"
#include "http/wire.hpp"

namespace http {

using tcp = boost::asio::ip::tcp;
using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}

    tcp::socket socket;
    // When the pending read or write has run out of time; the worker's sweep closes the
    // socket then (so the operation ends with an error). Set before each operation.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::string out;   // the response being written; its capacity is kept for the next
    bool idle = true;  // waiting for the first byte of a request: safe to close on shutdown

    void expires_after(std::chrono::steady_clock::duration timeout) { deadline = std::chrono::steady_clock::now() + timeout; }
};

// While other requests (not streamed) are being served, on any loop (they share the
// cores), the pieces of a loop's streamed answers (Response::stream) take turns, one at a
// time, and the lane rests kStreamRest times as long as each piece took (its read and its
// encoding) before the next. So answers that go on for seconds get about a seventh of a
// busy loop (a little more in fact: writing a piece and the client's reading of it are not
// counted), however many there are; with nothing else to serve, they go at full speed,
// together. Measured with two clients fetching a /users/me of 400,000 items: another
// user's GET /items/{id} kept about half its rate (p99 5-8 ms) with the pieces unpaced;
// 0.75-0.9 of it resting 4 times a piece's time, 0.8-0.95 (p99 3-5 ms) resting 6 times
// (bench/README.md, item_get_beside_big).
class StreamLane {
public:
    static constexpr int kStreamRest = 6;
    // Requests served since the last piece make the lane rest for this long: a piece taken
    // without a pause (a loop serves what is ready in turn) must not look like quiet.
    static constexpr std::chrono::milliseconds kBusyFor{100};

    // `served`: how many requests the server has answered so far, streamed answers aside.
    StreamLane(boost::asio::io_context& ioc, std::function<std::uint64_t()> served)
        : gate_(ioc), served_(std::move(served)) {}

    // Until it is this piece's turn; true if it took one (false: nothing else was served
    // lately, and pieces go as they come, several at once).
    core::Task<bool> enter();
    // The piece is made (in `took`; `turn`: what enter() said): the next may follow after
    // the rest.
    void leave(std::chrono::steady_clock::duration took, bool turn);

private:
    boost::asio::steady_timer gate_;  // expires when the lane is free again
    std::function<std::uint64_t()> served_;
    std::uint64_t last_served_ = 0;  // served_() when the last piece was made
    std::chrono::steady_clock::time_point busy_until_{};
    bool taken_ = false;
    std::chrono::steady_clock::time_point free_at_{};
};

// The peer left (or its connection was closed for a timeout): nothing to log.
bool is_disconnect(const boost::beast::error_code& ec);

// Writes `res` as `framing` says, each write within `timeout`; `ec` says how it went (a
// streamed body that failed: the connection is reset, and `ec` set). A streamed body's
// pieces are made in `lane`'s turns (none for HEAD).
core::Task<void> write_response(Connection& conn, Response res, const Framing& framing, std::chrono::seconds timeout,
                                StreamLane& lane, boost::beast::error_code& ec);

// Answers a request the App's routes never see (unreadable, too large) with `status`; the
// answer still goes through the App's middleware (its log line, its headers).
core::Task<void> reject(Connection& conn, const Parser& parser, int status, std::string_view detail,
                        std::chrono::seconds timeout, App& app, WorkerState* state, StreamLane& lane,
                        const std::string& peer);

// After answering early (413), read and discard what the client is still sending for
// a moment before closing: closing with unread data makes the kernel send a reset,
// which can destroy the answer before the client reads it.
core::Task<void> linger(Connection& conn);

}  // namespace http
