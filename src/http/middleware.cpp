#include "http/middleware.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "core/log.hpp"

namespace http {

namespace {

// The address as 16 bytes (IPv4 mapped into IPv6); nothing if it is not an address.
std::optional<std::array<unsigned char, 16>> address_bytes(std::string_view text) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(trim_blanks(text)), ec);
    if (ec) return std::nullopt;
    if (address.is_v4()) {
        return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4())
            .to_bytes();
    }
    return address.to_v6().to_bytes();
}

}  // namespace

TrustedProxies::TrustedProxies(std::string_view list) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view entry = trim_blanks(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (entry.empty()) continue;
        if (entry == "*") {
            all_ = true;
            continue;
        }
        const auto slash = entry.find('/');
        const auto bytes = address_bytes(entry.substr(0, slash));
        if (!bytes)
            throw std::invalid_argument("\"" + std::string(entry) +
                                        "\" is not an address or network");
        const bool v4 = entry.find(':') == std::string_view::npos;
        Network network{*bytes, 128};
        if (slash != std::string_view::npos) {
            const auto bits = entry.substr(slash + 1);
            unsigned prefix = 0;
            const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
            if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() ||
                prefix > (v4 ? 32u : 128u))
                throw std::invalid_argument("\"" + std::string(entry) +
                                            "\" has a bad prefix length");
            network.prefix = v4 ? prefix + 96 : prefix;
        }
        networks_.push_back(network);
        if (slash == std::string_view::npos) {
            boost::system::error_code ec;
            exact_.push_back(boost::asio::ip::make_address(std::string(entry), ec).to_string());
        }
    }
}

bool TrustedProxies::trusts(std::string_view address) const {
    if (all_) return true;
    for (const auto& e : exact_)
        if (e == address) return true;
    if (networks_.size() == exact_.size() && address.find(':') == std::string_view::npos)
        return false;  // an IPv4 address in its usual form, and no networks: no need to parse it
    const auto bytes = address_bytes(address);
    if (!bytes) return false;
    for (const auto& n : networks_) {
        unsigned bits = n.prefix;
        std::size_t i = 0;
        for (; bits >= 8; bits -= 8, ++i)
            if ((*bytes)[i] != n.bytes[i]) break;
        if (bits >= 8) continue;  // a whole byte differed
        const auto mask = static_cast<unsigned char>(0xFF00u >> bits);
        if (bits == 0 || ((*bytes)[i] & mask) == (n.bytes[i] & mask)) return true;
    }
    return false;
}

std::optional<Response> ProxyHeaders::before(RequestContext& ctx) const {
    const std::string* forwarded = ctx.request.headers.find("x-forwarded-for");
    const std::string* proto = ctx.request.headers.find("x-forwarded-proto");
    if ((!forwarded && !proto) || !trusted_.trusts(ctx.request.remote_address)) return std::nullopt;
    if (forwarded) {
        // Right to left: the nearest hops are our own proxies; the first that is not is the
        // client as far as anyone we trust can tell.
        std::string_view rest = *forwarded;
        std::string_view client;
        while (!rest.empty()) {
            const auto comma = rest.rfind(',');
            const std::string_view hop =
                trim_blanks(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
            if (hop.empty()) continue;
            client = hop;
            if (!trusted_.trusts(hop)) break;
        }
        // Only an address: anything else in the header is a forgery or a mistake.
        if (!client.empty() && address_bytes(client)) ctx.client = std::string(client);
    }
    if (proto) {
        const std::string_view p = trim_blanks(*proto);
        if (iequals(p, "https"))
            ctx.scheme = "https";
        else if (iequals(p, "http"))
            ctx.scheme = "http";
    }
    return std::nullopt;
}

std::optional<Response> RequestId::before(RequestContext& ctx) const {
    ctx.request_id = request_id_for(ctx.request);
    return std::nullopt;
}

void RequestId::after(RequestContext& ctx, Response& response) const {
    response.headers.add("x-request-id", ctx.request_id);
}

void AccessLog::after(RequestContext& ctx, Response& response) const {
    if (!core::log::enabled(core::log::Level::info)) return;
    const double ms = std::chrono::duration<double, std::milli>(ctx.elapsed()).count();
    const Request& request = ctx.request;
    core::log::info("request",
                    {{"request_id", ctx.request_id},
                     {"method", request.method},
                     {"route", ctx.route ? std::string_view(ctx.route->path) : std::string_view()},
                     {"path", request.path},
                     {"status", response.status},
                     {"duration_ms", ms},
                     {"bytes", static_cast<std::uint64_t>(response.body.size())},
                     {"client", ctx.client}});
}

SecurityHeaders::SecurityHeaders(Options options) : options_(std::move(options)) {
    std::string common =
        "x-content-type-options: nosniff\r\n"
        "referrer-policy: no-referrer\r\n"
        "x-frame-options: DENY\r\n";
    if (!options_.server.empty()) {
        common += "server: ";
        common += options_.server;
        common += "\r\n";
    }
    without_policy_ = common;
    // An API answers JSON: nothing in it may load or run anything, nor be framed.
    with_policy_ =
        common + "content-security-policy: default-src 'none'; frame-ancestors 'none'\r\n";
}

void SecurityHeaders::after(RequestContext& ctx, Response& response) const {
    response.constant_headers =
        response.headers.find("content-security-policy") ? without_policy_ : with_policy_;
    if (ctx.request.headers.find("authorization")) {
        if (response.headers.find("cache-control"))
            response.headers.set("cache-control", "no-store");
        else
            response.headers.add("cache-control", "no-store");
    }
    if (ctx.scheme == "https" && options_.hsts_max_age > 0)
        response.headers.set("strict-transport-security",
                             "max-age=" + std::to_string(options_.hsts_max_age));
}

namespace {

// The comma-separated items of `list`, trimmed, empty ones left out.
std::vector<std::string> items(std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = trim_blanks(list.substr(0, comma));
        if (!item.empty()) out.emplace_back(item);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return out;
}

std::string ascii_case(std::string_view s, int (*map)(int)) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(map(static_cast<unsigned char>(c)));
    return out;
}
std::string lower(std::string_view s) { return ascii_case(s, std::tolower); }
std::string upper(std::string_view s) { return ascii_case(s, std::toupper); }

std::string joined(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& item : list) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

// A serialized origin: scheme "://" host [":" port], nothing after.
bool is_origin(std::string_view o) {
    const auto sep = o.find("://");
    if (sep == std::string_view::npos || sep == 0) return false;
    const auto scheme = o.substr(0, sep);
    const auto rest = o.substr(sep + 3);
    return std::all_of(scheme.begin(), scheme.end(),
                       [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '+' ||
                                  c == '-' || c == '.';
                       }) &&
           !rest.empty() && rest.find_first_of("/?#@ \t") == std::string_view::npos;
}

// An HTTP token (method or header name).
bool is_token(std::string_view t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

}  // namespace

Cors::Cors(const Options& o)
    : credentials_(o.allow_credentials), max_age_(std::to_string(o.max_age)) {
    for (auto& origin : items(o.origins)) {
        if (origin == "*") {
            any_origin_ = true;
            continue;
        }
        while (origin.size() > 1 && origin.back() == '/') origin.pop_back();
        if (!is_origin(origin))
            throw Problem("origins",
                          "\"" + origin + "\" is not an origin (scheme://host[:port], no path)");
        origins_.push_back(lower(origin));
    }
    if (any_origin_ && credentials_)
        throw Problem(
            "allow_credentials",
            "credentials cannot be allowed to every origin (*): name the origins instead");
    for (const auto& m : items(o.allow_methods)) {
        if (m == "*") {
            any_method_ = true;
            continue;
        }
        if (!is_token(m)) throw Problem("allow_methods", "\"" + m + "\" is not a method");
        methods_.push_back(upper(m));
    }
    methods_text_ = any_method_ ? "*" : joined(methods_);
    for (const auto& h : items(o.allow_headers)) {
        if (h == "*") {
            any_header_ = true;
            continue;
        }
        if (!is_token(h)) throw Problem("allow_headers", "\"" + h + "\" is not a header name");
        headers_.push_back(lower(h));
    }
    headers_text_ = joined(headers_);
    const auto expose = items(o.expose_headers);
    for (const auto& h : expose)
        if (!is_token(h)) throw Problem("expose_headers", "\"" + h + "\" is not a header name");
    expose_text_ = joined(expose);
}

bool Cors::allowed_origin(std::string_view origin) const {
    if (any_origin_) return true;
    for (const auto& o : origins_)
        if (iequals(o, origin)) return true;
    return false;
}

namespace {
bool is_preflight(const Request& request) {
    return request.method == "OPTIONS" && request.headers.find("origin") &&
           request.headers.find("access-control-request-method");
}
}  // namespace

std::optional<Response> Cors::before(RequestContext& ctx) const {
    const Request& request = ctx.request;
    if (!is_preflight(request)) return std::nullopt;  // the router answers it
    const std::string* origin = request.headers.find("origin");
    const std::string* method = request.headers.find("access-control-request-method");

    std::string problem;
    if (!allowed_origin(*origin)) problem = "origin";
    const std::string wanted_method = upper(trim_blanks(*method));
    if (problem.empty() && !any_method_ &&
        std::find(methods_.begin(), methods_.end(), wanted_method) == methods_.end())
        problem = "method";
    std::string wanted_headers;
    if (const std::string* requested = request.headers.find("access-control-request-headers")) {
        for (const auto& h : items(*requested)) {
            if (problem.empty() && !any_header_ &&
                std::find(headers_.begin(), headers_.end(), lower(h)) == headers_.end())
                problem = "headers";
            if (!wanted_headers.empty()) wanted_headers += ", ";
            wanted_headers += lower(h);
        }
    }
    if (!problem.empty()) {
        auto refused = Response::detail(400, "Disallowed CORS " + problem);
        if (!any_origin_) refused.headers.add("vary", "Origin");
        return refused;
    }
    Response ok = Response::empty(204);
    auto& h = ok.headers;
    h.add("access-control-allow-origin",
          any_origin_ ? std::string_view("*") : std::string_view(*origin));
    if (!any_origin_) h.add("vary", "Origin");
    if (credentials_) h.add("access-control-allow-credentials", "true");
    // "*" in the answer is a wildcard only without credentials: name what was asked for.
    h.add("access-control-allow-methods",
          any_method_ ? std::string_view(wanted_method) : std::string_view(methods_text_));
    if (any_header_) {
        if (!wanted_headers.empty()) h.add("access-control-allow-headers", wanted_headers);
    } else if (!headers_text_.empty()) {
        h.add("access-control-allow-headers", headers_text_);
    }
    h.add("access-control-max-age", max_age_);
    return ok;
}

void Cors::after(RequestContext& ctx, Response& response) const {
    const std::string* origin = ctx.request.headers.find("origin");
    if (origin && is_preflight(ctx.request)) return;  // answered whole in before()
    if (!any_origin_) response.headers.add("vary", "Origin");
    if (!origin || !allowed_origin(*origin)) return;
    auto& h = response.headers;
    h.add("access-control-allow-origin",
          any_origin_ ? std::string_view("*") : std::string_view(*origin));
    if (credentials_) h.add("access-control-allow-credentials", "true");
    if (!expose_text_.empty()) h.add("access-control-expose-headers", expose_text_);
}

}  // namespace http
