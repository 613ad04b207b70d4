#include "http/message.hpp"

#include "core/json_text.hpp"

namespace http {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

const std::string* Headers::find(std::string_view name) const {
    for (const auto& [k, v] : fields_)
        if (iequals(k, name)) return &v;
    return nullptr;
}

void Headers::set(std::string_view name, std::string_view value) {
    for (auto it = fields_.begin(); it != fields_.end();) {
        if (iequals(it->first, name))
            it = fields_.erase(it);
        else
            ++it;
    }
    add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) { fields_.emplace_back(name, value); }

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

namespace {

// The origin form of an absolute-form target ("http://api.example:8000/items/?x" ->
// "/items/?x"; its path may be empty: "http://api.example?x" -> "?x"), which a server must
// accept (RFC 9112 section 3.2.2) and a proxy sends; any other target as it is.
std::string_view origin_form(std::string_view t) {
    std::string_view rest;
    if (t.size() > 7 && iequals(t.substr(0, 7), "http://"))
        rest = t.substr(7);
    else if (t.size() > 8 && iequals(t.substr(0, 8), "https://"))
        rest = t.substr(8);
    else
        return t;
    const auto path = rest.find_first_of("/?");
    return path == std::string_view::npos ? std::string_view() : rest.substr(path);
}

}  // namespace

void Request::set_target(std::string_view sent) {
    target.assign(sent);
    const std::string_view t = origin_form(sent);
    const auto q = t.find('?');
    path = percent_decode(t.substr(0, q), false);
    if (path.empty()) path.push_back('/');  // an absolute URI without a path names the root
    if (q == std::string_view::npos)
        query.clear();
    else
        query.assign(t.substr(q + 1));
}

Response Response::json(int status, std::string body) {
    Response r;
    r.status = status;
    r.headers.reserve(2);  // and the x-request-id the app adds
    r.headers.add("content-type", "application/json");
    r.body = std::move(body);
    return r;
}

Response Response::empty(int status) {
    Response r;
    r.status = status;
    return r;
}

Response Response::detail(int status, std::string_view detail) {
    std::string body = "{\"detail\":\"";
    core::append_json_escaped(body, detail);
    body += "\"}";
    return json(status, std::move(body));
}

std::string percent_decode(std::string_view s, bool plus_as_space) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else if (c == '+' && plus_as_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 307: return "Temporary Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 413: return "Request Entity Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 422: return "Unprocessable Entity";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        default: return "Unknown";
    }
}

}  // namespace http
