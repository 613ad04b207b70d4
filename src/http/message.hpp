#pragma once
// HTTP messages as the application sees them: plain values, no Beast types, so the
// headers every route includes stay light. The server converts at the socket.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core {
template <class T>
class Task;
}

namespace http {

// Field names compare case-insensitively; order is kept.
class Headers {
public:
    const std::string* find(std::string_view name) const;
    void set(std::string_view name, std::string_view value);  // replaces any of that name
    void add(std::string_view name, std::string_view value);
    void reserve(std::size_t n) { fields_.reserve(n); }
    auto begin() const { return fields_.begin(); }
    auto end() const { return fields_.end(); }
    bool empty() const { return fields_.empty(); }

private:
    std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
    std::string method;  // upper case, as sent
    std::string target;  // as sent: path and query, still percent-encoded (or an absolute URI)
    std::string path;    // percent-decoded path, without the query
    std::string query;   // the raw query string, without '?'
    Headers headers;
    std::string body;
    std::string remote_address;  // the peer's IP address

    // Splits `target` into `path` (decoded) and `query`; of an absolute-form target
    // ("http://host/items/?skip=1"), its path and query.
    void set_target(std::string_view target);
};

// The rest of a body made while it is sent (a long list read from the database in
// batches). The server sends Response::body first, then each piece next() appends to
// `out`, as HTTP/1.1 chunks (HTTP/1.0: until the connection closes), and asks for the
// next piece only once the last is written: a slow reader slows the producer, nothing
// piles up. next() returns false with the last piece. If it throws, the connection is
// reset: the client cannot take what it got for the whole answer.
class BodyStream {
public:
    virtual ~BodyStream() = default;
    virtual core::Task<bool> next(std::string& out) = 0;
};

struct Response {
    int status = 200;
    Headers headers;
    std::string body;  // the whole body, or its first piece when `stream` is set
    std::shared_ptr<BodyStream> stream;  // the rest of the body (then no Content-Length)
    // Header lines rendered once ("name: value\r\n" ...) that the server writes after
    // `headers`: a middleware's constant headers, without a string built per response.
    // The text must outlive the response (the App's middleware does).
    std::string_view constant_headers;

    static Response json(int status, std::string body);
    static Response empty(int status);
    // {"detail": "<detail>"}
    static Response detail(int status, std::string_view detail);
};

// An error a handler raises; it becomes {"detail": ...} with the status.
struct HttpError {
    int status;
    std::string detail;
    Headers headers;
};

// Percent-decodes `s` leniently (a '%' not followed by two hex digits stays as it is),
// as Starlette does; with `plus_as_space`, '+' becomes ' ' (form and query encoding).
std::string percent_decode(std::string_view s, bool plus_as_space);

// The reason phrase of a status code ("Not Found").
std::string_view reason_phrase(int status);

// `s` without the spaces and tabs around it.
std::string_view trim_blanks(std::string_view s);

// True if `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

}  // namespace http
