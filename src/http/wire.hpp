#pragma once
// What crosses the wire, apart from the sockets (server.cpp): a request's framing
// checked, Beast's request turned into ours, our response rendered as bytes.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace http {

namespace bhttp = boost::beast::http;

// Why a request's head cannot be taken, as the status to answer (0: none). Checked on the
// headers, before any body is read: a request whose body length two parties could read
// differently is refused and its connection closed, so that its body can never be taken
// for the next request (RFC 9112 sections 6.1 and 6.3); so is a request line or a field
// line longer than `line_limit` (the whole block has the parser's header_limit), and an
// expectation that cannot be met.
struct FramingProblem {
    int status = 0;
    std::string_view detail;
};
FramingProblem framing_problem(const bhttp::request_header<>& h, std::size_t line_limit);

Request to_request(bhttp::request<bhttp::string_body>&& msg);

// How an answer goes on the wire, from what its request asked.
struct Framing {
    unsigned version = 11;   // the request's HTTP version: 10 or 11
    bool keep_alive = true;  // the connection stays open after the answer
    bool head = false;       // a HEAD request: the answer's head only, whatever its status
};

// The response as bytes, into `out` (the connection's buffer, reused). Written here
// rather than by Beast's serializer, which walked a chain of buffer views per write
// and built a field list per response: 14k of the 39k instructions of a 404
// (bench/callgrind). What it wrote is kept: Content-Length (none for 1xx, 204, 304),
// "Connection: close" on HTTP/1.1 when not kept alive, "keep-alive" on HTTP/1.0 when kept.
// A streamed response (Response::stream) has no Content-Length: on HTTP/1.1 it is chunked
// and `body` is its first chunk; on HTTP/1.0 its end is the connection's (not kept alive).
// Every answer has a Date (RFC 9110 section 6.6.1, IMF-fixdate), formatted once a second per
// thread: an answer reads the coarse clock (no system call). The answer to HEAD is the head the
// same request with GET would have, Content-Length included, and never a body (RFC 9110
// section 9.3.2): a body there would be read as the start of the connection's next answer.
void render_response(std::string& out, const Response& res, const Framing& framing);

// A piece of a streamed body as it goes on the wire, appended to `out`: an HTTP/1.1 chunk
// (nothing for an empty piece, whose chunk would end the body), or the bytes as they are
// on HTTP/1.0; `last` adds the end of a chunked body.
void render_piece(std::string& out, std::string_view piece, unsigned version, bool last);

}  // namespace http
