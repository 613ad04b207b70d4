#include "http/rate_limit.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "core/random.hpp"

namespace http {

namespace {

bool parse_number(std::string_view text, unsigned& out) {
    text = trim_blanks(text);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// splitmix64: spreads a hash over the table's sets.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::int64_t ms(TokenBuckets::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::seconds ceil_seconds(double milliseconds) {
    return std::chrono::seconds(
        static_cast<long long>(std::ceil(std::max(0.0, milliseconds) / 1000.0)));
}

}  // namespace

RateLimit RateLimit::parse(std::string_view text) {
    text = trim_blanks(text);
    if (text.empty() || text == "off") return {};
    const std::string whole(text);
    auto sep = text.find('/');
    std::size_t skip = 1;
    if (sep == std::string_view::npos) {
        sep = text.find(" per ");
        skip = 5;
    }
    if (sep == std::string_view::npos)
        throw std::invalid_argument("\"" + whole + "\" is not N/unit (10/minute) or off");
    RateLimit limit;
    if (!parse_number(text.substr(0, sep), limit.count) || limit.count == 0)
        throw std::invalid_argument("\"" + whole + "\": the count is not a whole number above 0");
    std::string_view period = trim_blanks(text.substr(sep + skip));
    unsigned multiple = 1;
    if (const auto space = period.find(' '); space != std::string_view::npos) {
        if (!parse_number(period.substr(0, space), multiple) || multiple == 0)
            throw std::invalid_argument("\"" + whole +
                                        "\": the period's multiple is not a whole number above 0");
        period = trim_blanks(period.substr(space + 1));
    }
    if (period.size() > 1 && period.back() == 's') period.remove_suffix(1);  // "minutes"
    long long unit = 0;
    if (period == "second")
        unit = 1;
    else if (period == "minute")
        unit = 60;
    else if (period == "hour")
        unit = 3600;
    else if (period == "day")
        unit = 86400;
    else
        throw std::invalid_argument("\"" + whole +
                                    "\": the unit is not second, minute, hour or day");
    limit.window = std::chrono::seconds(unit * multiple);
    return limit;
}

std::string RateLimit::describe() const {
    if (off()) return "off";
    const long long s = window.count();
    const auto [n, unit] = s % 86400 == 0  ? std::pair{s / 86400, "day"}
                           : s % 3600 == 0 ? std::pair{s / 3600, "hour"}
                           : s % 60 == 0   ? std::pair{s / 60, "minute"}
                                           : std::pair{s, "second"};
    std::string out = std::to_string(count);
    out += " per ";
    out += std::to_string(n);
    out += ' ';
    out += unit;
    return out;
}

TokenBuckets::TokenBuckets(RateLimit limit, std::size_t slots)
    : limit_(limit),
      per_ms_(limit.off() ? 0.0
                          : limit.count / (static_cast<double>(limit.window.count()) * 1000.0)),
      seed_(core::random_u64()),
      locks_(std::make_unique<std::mutex[]>(shards)) {
    std::size_t size = ways * shards;
    while (size < slots) size *= 2;
    slots_.resize(size);
}

std::size_t TokenBuckets::memory_bytes() const {
    return slots_.size() * sizeof(Slot) + shards * sizeof(std::mutex);
}

std::size_t TokenBuckets::keys() const {
    std::size_t n = 0;
    for (std::size_t s = 0; s < shards; ++s) {
        std::lock_guard lock(locks_[s]);
        for (std::size_t i = s * ways; i < slots_.size(); i += shards * ways)
            for (std::size_t w = 0; w < ways; ++w) n += slots_[i + w].key != 0;
    }
    return n;
}

TokenBuckets::Verdict TokenBuckets::take(std::string_view key, Clock::time_point now) {
    const std::uint64_t h = mix(std::hash<std::string_view>{}(key) ^ seed_) | 1;  // never 0 (empty)
    const std::size_t sets = slots_.size() / ways;
    const std::size_t set = (h >> 1) % sets;
    const std::size_t shard = set % shards;  // sets of one shard: set % shards == shard
    const std::int64_t t = ms(now);
    const double capacity = limit_.count;

    std::lock_guard lock(locks_[shard]);
    Slot* slot = nullptr;
    Slot* oldest = &slots_[set * ways];
    for (std::size_t w = 0; w < ways; ++w) {
        Slot& s = slots_[set * ways + w];
        if (s.key == h) {
            slot = &s;
            break;
        }
        if (s.key == 0 || (oldest->key != 0 && s.last_ms < oldest->last_ms)) oldest = &s;
    }
    if (!slot) {  // a new client, in an empty way or in place of the one seen longest ago
        slot = oldest;
        *slot = Slot{h, capacity, t};
    }
    double tokens =
        std::min(capacity, slot->tokens + static_cast<double>(t - slot->last_ms) * per_ms_);
    Verdict v;
    v.allowed = tokens >= 1.0 - 1e-9;  // (the refill's rounding must not cost a whole token)
    if (v.allowed)
        tokens = std::max(0.0, tokens - 1.0);
    else
        v.retry_after = std::max(std::chrono::seconds(1), ceil_seconds((1.0 - tokens) / per_ms_));
    slot->tokens = tokens;
    slot->last_ms = t;
    v.remaining = static_cast<unsigned>(tokens + 1e-9);
    v.reset = ceil_seconds((capacity - tokens) / per_ms_);
    return v;
}

RateLimits::RateLimits(std::vector<Rule> rules, std::size_t slots_per_rule) {
    for (auto& rule : rules) {
        if (rule.limit.off()) continue;
        Limited l;
        l.policy = "\"" + rule.name + "\";q=" + std::to_string(rule.limit.count) +
                   ";w=" + std::to_string(rule.limit.window.count());
        l.buckets = std::make_unique<TokenBuckets>(rule.limit, slots_per_rule);
        l.rule = std::move(rule);
        rules_.push_back(std::move(l));
    }
}

std::size_t RateLimits::memory_bytes() const {
    std::size_t n = 0;
    for (const auto& r : rules_) n += r.buckets->memory_bytes();
    return n;
}

std::vector<std::pair<std::string, std::uint64_t>> RateLimits::rejected() const {
    std::vector<std::pair<std::string, std::uint64_t>> counts;
    for (const auto& r : rules_) counts.emplace_back(r.rule.name, r.rejected->load(std::memory_order_relaxed));
    return counts;
}

std::optional<Response> RateLimits::before(RequestContext& ctx) const {
    // By the matched route's template, so that every spelling the router takes for a route
    // (/auth/token/ for /auth/token) counts against the route's limit.
    const std::string& path = ctx.route ? ctx.route->path : ctx.request.path;
    const Limited* applies = nullptr;
    for (const auto& r : rules_) {
        const auto& paths = r.rule.paths;
        if (std::find(paths.begin(), paths.end(), path) != paths.end()) {
            applies = &r;
            break;
        }
    }
    if (!applies) {
        for (const auto& r : rules_)
            if (r.rule.paths.empty()) applies = &r;
    }
    if (!applies) return std::nullopt;
    const auto verdict = applies->buckets->take(ctx.client);
    std::string state = "\"" + applies->rule.name + "\";r=" + std::to_string(verdict.remaining) +
                        ";t=" + std::to_string(verdict.reset.count());
    if (verdict.allowed) {
        ctx.response_headers.add("ratelimit-policy", applies->policy);
        ctx.response_headers.add("ratelimit", state);
        return std::nullopt;
    }
    applies->rejected->fetch_add(1, std::memory_order_relaxed);
    auto refused = Response::detail(429, "Rate limit exceeded: " + applies->rule.limit.describe());
    refused.headers.add("retry-after", std::to_string(verdict.retry_after.count()));
    refused.headers.add("ratelimit-policy", applies->policy);
    refused.headers.add("ratelimit", state);
    return refused;
}

}  // namespace http
