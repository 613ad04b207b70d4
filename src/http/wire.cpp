#include "http/wire.hpp"

#include <boost/beast/core/string.hpp>
#include <charconv>
#include <iterator>

namespace http {

namespace beast = boost::beast;

FramingProblem framing_problem(const bhttp::request_header<>& h) {
    // One pass over the fields (cheaper than a lookup per name): a request has few.
    unsigned hosts = 0, lengths = 0, transfer_encodings = 0, expects = 0;
    std::string_view expect;
    // Transfer-Encoding: the codings of every such line, in order; the last must be
    // chunked, which alone says where the body ends. Beast otherwise reads no body at
    // all, and what was sent as one would be parsed as the next request.
    std::string_view last_coding;
    unsigned codings = 0;
    for (const auto& field : h) {
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

void render_response(std::string& out, const Response& res, unsigned version, bool keep_alive) {
    out.clear();
    out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char digits[16];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, res.status);
    out.append(digits, end);
    out += ' ';
    out += reason_phrase(res.status);
    out += "\r\n";
    for (const auto& [name, value] : res.headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    out += res.constant_headers;
    if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
    if (version != 10 && !keep_alive) out += "Connection: close\r\n";
    const bool bodiless = res.status / 100 == 1 || res.status == 204 || res.status == 304;
    if (!bodiless && res.stream) {
        if (version != 10) out += "Transfer-Encoding: chunked\r\n";
        out += "\r\n";
        render_piece(out, res.body, version, false);
        return;
    }
    if (!bodiless) {
        out += "Content-Length: ";
        auto [len_end, len_ec] = std::to_chars(digits, digits + sizeof digits, res.body.size());
        out.append(digits, len_end);
        out += "\r\n";
    }
    out += "\r\n";
    if (!bodiless) out += res.body;
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
