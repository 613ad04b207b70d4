#include "http/middleware.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <stdexcept>

#include "core/log.hpp"

namespace http {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The address as 16 bytes (IPv4 mapped into IPv6); nothing if it is not an address.
std::optional<std::array<unsigned char, 16>> address_bytes(std::string_view text) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(trim(text)), ec);
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
        const std::string_view entry = trim(list.substr(0, comma));
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
                trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
            if (hop.empty()) continue;
            client = hop;
            if (!trusted_.trusts(hop)) break;
        }
        // Only an address: anything else in the header is a forgery or a mistake.
        if (!client.empty() && address_bytes(client)) ctx.client = std::string(client);
    }
    if (proto) {
        const std::string_view p = trim(*proto);
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
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ctx.start)
            .count();
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

}  // namespace http
