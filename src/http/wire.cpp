#include "http/wire.hpp"

#include <time.h>

#include <boost/beast/core/string.hpp>
#include <algorithm>
#include <charconv>
#include <iterator>

namespace http {

namespace beast = boost::beast;

FramingProblem framing_problem(const bhttp::request_header<>& h, std::size_t line_limit) {
    // "GET <target> HTTP/1.1": nginx's 414 for a request line over its buffer.
    if (h.method_string().size() + h.target().size() + 10 > line_limit) return {414, "URI Too Long"};
    // One pass over the fields (cheaper than a lookup per name): a request has few.
    unsigned hosts = 0, lengths = 0, transfer_encodings = 0, expects = 0;
    bool long_line = false;
    std::string_view expect;
    // Transfer-Encoding: the codings of every such line, in order; the last must be
    // chunked, which alone says where the body ends. Beast otherwise reads no body at
    // all, and what was sent as one would be parsed as the next request.
    std::string_view last_coding;
    unsigned codings = 0;
    for (const auto& field : h) {
        long_line = long_line || field.name_string().size() + 2 + field.value().size() > line_limit;
        switch (field.name()) {
            case bhttp::field::host: ++hosts; break;
            case bhttp::field::content_length: ++lengths; break;
            case bhttp::field::expect:
                ++expects;
                expect = field.value();
                break;
            case bhttp::field::transfer_encoding: {
                ++transfer_encodings;
                std::string_view list = field.value();
                while (!list.empty()) {
                    const auto comma = list.find(',');
                    std::string_view c = list.substr(0, comma);
                    while (!c.empty() && (c.front() == ' ' || c.front() == '\t')) c.remove_prefix(1);
                    while (!c.empty() && (c.back() == ' ' || c.back() == '\t')) c.remove_suffix(1);
                    if (!c.empty()) {
                        last_coding = c;
                        ++codings;
                    }
                    if (comma == std::string_view::npos) break;
                    list.remove_prefix(comma + 1);
                }
                break;
            }
            default: break;
        }
    }

    if (long_line) return {431, "Request header fields too large"};
    // HTTP/1.1 requires exactly one Host (RFC 9112 section 3.2); HTTP/1.0 may omit it.
    if (hosts > 1 || (hosts == 0 && h.version() >= 11)) return {400, "Bad Request"};
    if (transfer_encodings > 0) {
        if (h.version() < 11 || codings == 0 || !beast::iequals(last_coding, "chunked")) return {400, "Bad Request"};
        // A length beside chunked is what smuggling plays on: refused, as nginx does.
        if (lengths > 0) return {400, "Bad Request"};
        // Codings under chunked (gzip, ...) are not decoded here.
        if (codings > 1) return {501, "Not Implemented"};
    }
    // The one expectation there is; any other cannot be met (RFC 9110 section 10.1.1).
    if (expects > 1 || (expects == 1 && !beast::iequals(expect, "100-continue"))) return {417, "Expectation Failed"};
    return {};
}

Request to_request(bhttp::request<bhttp::string_body>&& msg) {
    Request req;
    req.method = std::string(msg.method_string());
    req.set_target(msg.target());
    req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) req.headers.add(field.name_string(), field.value());
    req.body = std::move(msg.body());
    return req;
}

namespace {

// The Date line of this second ("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), formatted once a
// second per thread.
std::string_view date_line() {
    // The day and month names of RFC 9110, not the C locale's (which a process may change).
    static constexpr std::string_view days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    thread_local time_t formatted_for = -1;
    thread_local char text[48];
    thread_local std::size_t length = 0;
    timespec now{};
    clock_gettime(CLOCK_REALTIME_COARSE, &now);  // the vDSO: no system call
    if (now.tv_sec != formatted_for) {
        tm t{};
        gmtime_r(&now.tv_sec, &t);
        const auto two = [](char* at, int v) {
            at[0] = static_cast<char>('0' + v / 10);
            at[1] = static_cast<char>('0' + v % 10);
        };
        char* p = std::copy_n("Date: ", 6, text);
        p = std::copy(days[t.tm_wday].begin(), days[t.tm_wday].end(), p);
        p = std::copy_n(", ", 2, p);
        two(p, t.tm_mday);
        p += 2;
        *p++ = ' ';
        p = std::copy(months[t.tm_mon].begin(), months[t.tm_mon].end(), p);
        *p++ = ' ';
        p = std::to_chars(p, text + sizeof text, t.tm_year + 1900).ptr;
        *p++ = ' ';
        two(p, t.tm_hour);
        p[2] = ':';
        two(p + 3, t.tm_min);
        p[5] = ':';
        two(p + 6, t.tm_sec);
        p += 8;
        p = std::copy_n(" GMT\r\n", 6, p);
        length = static_cast<std::size_t>(p - text);
        formatted_for = now.tv_sec;
    }
    return {text, length};
}

}  // namespace

void render_response(std::string& out, const Response& res, const Framing& framing) {
    const unsigned version = framing.version;
    out.clear();
    out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char digits[16];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, res.status);
    out.append(digits, end);
    out += ' ';
    out += reason_phrase(res.status);
    out += "\r\n";
    out += date_line();
    for (const auto& [name, value] : res.headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    out += res.constant_headers;
    if (version == 10 && framing.keep_alive) out += "Connection: keep-alive\r\n";
    if (version != 10 && !framing.keep_alive) out += "Connection: close\r\n";
    const bool bodiless = res.status / 100 == 1 || res.status == 204 || res.status == 304;
    if (!bodiless && res.stream) {
        if (version != 10) out += "Transfer-Encoding: chunked\r\n";
        out += "\r\n";
        if (!framing.head) render_piece(out, res.body, version, false);
        return;
    }
    if (!bodiless) {
        out += "Content-Length: ";
        auto [len_end, len_ec] = std::to_chars(digits, digits + sizeof digits, res.body.size());
        out.append(digits, len_end);
        out += "\r\n";
    }
    out += "\r\n";
    if (!bodiless && !framing.head) out += res.body;
}

void render_piece(std::string& out, std::string_view piece, unsigned version, bool last) {
    if (version == 10) {
        out += piece;
        return;
    }
    if (!piece.empty()) {
        char digits[16];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, piece.size(), 16);
        out.append(digits, end);
        out += "\r\n";
        out += piece;
        out += "\r\n";
    }
    if (last) out += "0\r\n\r\n";
}

}  // namespace http
