#pragma once
// A client's connection as the server holds it (a session), and its life: read a request
// within limits, let the App answer it, write the answer, and again while it is kept alive.
// Pipelined requests are read from the same buffer one after another, so they are answered
// in order. Private to http.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "http/app.hpp"
#include "http/message.hpp"
#include "http/stream_lane.hpp"
#include "http/wire.hpp"

namespace http {

using tcp = boost::asio::ip::tcp;
using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

struct Session {
    explicit Session(tcp::socket s) : socket(std::move(s)) {}

    tcp::socket socket;
    // When the pending read or write has run out of time; the worker's sweep closes the
    // socket then (so the operation ends with an error). Set before each operation.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::string out;   // the response being written; its capacity is kept for the next
    bool idle = true;  // waiting for the first byte of a request: safe to close on shutdown

    void expires_after(std::chrono::steady_clock::duration timeout) { deadline = std::chrono::steady_clock::now() + timeout; }
};

struct Worker;

// Serves a connection `w` accepted until it ends (the peer leaves, a timeout, the drain).
core::Task<void> serve_session(Worker& w, tcp::socket socket);

// The peer left (or its connection was closed for a timeout): nothing to log.
bool is_disconnect(const boost::beast::error_code& ec);

// Writes `res` as `framing` says, each write within `timeout`; `ec` says how it went (a
// streamed body that failed: the connection is reset, and `ec` set). A streamed body's
// pieces are made in `lane`'s turns (none for HEAD).
core::Task<void> write_response(Session& conn, Response res, const Framing& framing, std::chrono::seconds timeout,
                                StreamLane& lane, boost::beast::error_code& ec);

// Answers a request the App's routes never see (unreadable, too large) with `status`; the
// answer still goes through the App's middleware (its log line, its headers).
core::Task<void> reject(Session& conn, const Parser& parser, int status, std::string_view detail,
                        std::chrono::seconds timeout, App& app, WorkerState* state, StreamLane& lane,
                        const std::string& peer);

// After answering early (413), read and discard what the client is still sending for
// a moment before closing: closing with unread data makes the kernel send a reset,
// which can destroy the answer before the client reads it.
core::Task<void> linger(Session& conn);

}  // namespace http
