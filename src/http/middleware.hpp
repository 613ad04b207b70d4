#pragma once
// The middleware every application of this server may use (http::Middleware, app.hpp),
// added with App::use in this order, outermost first:
//
//   ProxyHeaders     the client's address and scheme, from a trusted proxy's X-Forwarded-*
//   RequestId        X-Request-ID: the client's if sane, else a new one; echoed
//   AccessLog        one line per request
//   SecurityHeaders  nosniff, Referrer-Policy, framing, CSP, no-store, HSTS over HTTPS, Server
//   Cors             preflights answered, Access-Control-* on the answers to allowed origins

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/app.hpp"

namespace http {

// uvicorn's --forwarded-allow-ips: the peers whose X-Forwarded-For and X-Forwarded-Proto are
// believed. From anyone else the headers change nothing.
class TrustedProxies {
  public:
    // "127.0.0.1", "10.0.0.0/8, ::1", or "*" (every peer: only behind a proxy that every
    // request passes). Throws std::invalid_argument naming the bad entry.
    explicit TrustedProxies(std::string_view list);
    bool trusts(std::string_view address) const;
    bool trusts_all() const { return all_; }

  private:
    // The single addresses as the server writes a peer's address ("127.0.0.1"): most
    // checks are one string comparison.
    std::vector<std::string> exact_;
    // IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96): one comparison for both.
    struct Network {
        std::array<unsigned char, 16> bytes{};
        unsigned prefix = 128;
    };
    bool all_ = false;
    std::vector<Network> networks_;
};

class ProxyHeaders final : public Middleware {
  public:
    explicit ProxyHeaders(TrustedProxies trusted) : trusted_(std::move(trusted)) {}
    // From a trusted peer: the client is the last X-Forwarded-For address that is not itself
    // a trusted proxy (the one the first trusted proxy saw), the scheme X-Forwarded-Proto's.
    // Without those headers nothing is checked.
    std::optional<Response> before(RequestContext& ctx) const override;

  private:
    TrustedProxies trusted_;
};

class RequestId final : public Middleware {
  public:
    std::optional<Response> before(RequestContext& ctx) const override;
    void after(RequestContext& ctx, Response& response) const override;
};

// {"msg":"request", method, route (the template: /items/{item_id}), path, status,
// duration_ms, bytes, client, request_id} at info level. Every value goes through the
// logger's escaping: nothing a client sends can end or forge a line.
class AccessLog final : public Middleware {
  public:
    void after(RequestContext& ctx, Response& response) const override;
};

class SecurityHeaders final : public Middleware {
  public:
    struct Options {
        std::string server;            // the Server header (a name, never a version); empty: none
        long hsts_max_age = 31536000;  // Strict-Transport-Security, over HTTPS only; 0: none
    };
    explicit SecurityHeaders(Options options);
    // X-Content-Type-Options, Referrer-Policy, X-Frame-Options, Server and, unless the
    // response brings its own (the docs pages do), Content-Security-Policy: rendered once,
    // as Response::constant_headers. Cache-Control: no-store on every answer to a request
    // with credentials (Authorization), whatever the route set; HSTS over HTTPS.
    void after(RequestContext& ctx, Response& response) const override;

  private:
    Options options_;
    std::string with_policy_, without_policy_;
};

// Cross-origin requests from browsers, per the Fetch standard (as Starlette's CORSMiddleware).
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here: 204
// with the Access-Control-Allow-* headers when the origin, the method and the headers are
// allowed, else 400 without them. Any other request from an allowed origin gets
// Access-Control-Allow-Origin (and -Credentials, -Expose-Headers) on its answer, errors
// included; from another origin no CORS header at all, so the browser keeps the answer from
// the page. `Vary: Origin` whenever the answer depends on the origin.
class Cors final : public Middleware {
  public:
    struct Options {
        std::string origins;             // "https://app.example.com, http://localhost:5173", or "*"
        bool allow_credentials = false;  // never with "*" (refused)
        unsigned max_age = 600;
        std::string allow_methods;   // "GET, POST", or "*"
        std::string allow_headers;   // "Authorization, Content-Type", or "*"
        std::string expose_headers;  // "X-Request-ID"
    };
    // Throws std::invalid_argument naming what is wrong (an origin with a path, credentials
    // with "*"); `Problem::setting` says which option.
    explicit Cors(const Options& options);

    struct Problem : std::invalid_argument {
        Problem(std::string which, const std::string& what)
            : std::invalid_argument(what), setting(std::move(which)) {}
        std::string setting;  // "origins", "allow_credentials", ...
    };

    std::optional<Response> before(RequestContext& ctx) const override;
    void after(RequestContext& ctx, Response& response) const override;

  private:
    bool allowed_origin(std::string_view origin) const;

    bool any_origin_ = false;
    std::vector<std::string> origins_;  // lower case, no trailing slash
    bool credentials_ = false;
    std::string max_age_;
    bool any_method_ = false;
    std::vector<std::string> methods_;  // upper case
    std::string methods_text_;
    bool any_header_ = false;
    std::vector<std::string> headers_;  // lower case
    std::string headers_text_;
    std::string expose_text_;
};

}  // namespace http
