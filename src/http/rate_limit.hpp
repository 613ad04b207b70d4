#pragma once
// Per-client request limits, as slowapi's: a limit in its notation ("10/minute"), token
// buckets in a table of fixed size, and the middleware that answers 429.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/app.hpp"

namespace http {

// N requests per window: "5/minute", "100/second", "1000 per hour", "20/5 minutes",
// "10000/day"; "off" (or empty) is no limit.
struct RateLimit {
    unsigned count = 0;  // 0: off
    std::chrono::seconds window{};

    // Throws std::invalid_argument saying what is wrong.
    static RateLimit parse(std::string_view text);
    bool off() const { return count == 0; }
    std::string describe() const;  // "10 per 1 minute", as slowapi words it
};

// One token bucket per key (a client address): `count` tokens, refilled evenly over the
// window, one taken per request. The buckets live in a table fixed at construction (a
// set-associative cache, 4 ways): however many distinct keys arrive, the memory is the
// same; when a set is full the bucket used longest ago is forgotten (its client starts
// afresh). Thread-safe: the table is split into shards, each behind its own mutex.
class TokenBuckets {
  public:
    using Clock = std::chrono::steady_clock;

    TokenBuckets(RateLimit limit, std::size_t slots);

    struct Verdict {
        bool allowed = true;
        unsigned remaining = 0;              // whole tokens left
        std::chrono::seconds reset{};        // until the bucket is full again
        std::chrono::seconds retry_after{};  // until the next token, when refused
    };
    Verdict take(std::string_view key, Clock::time_point now = Clock::now());

    std::size_t slots() const { return slots_.size(); }
    std::size_t memory_bytes() const;
    std::size_t keys() const;  // buckets in use (tests)

  private:
    struct Slot {
        std::uint64_t key = 0;  // the key's hash; 0: empty
        double tokens = 0;
        std::int64_t last_ms = 0;  // when tokens was computed
    };
    static constexpr std::size_t ways = 4;
    static constexpr std::size_t shards = 64;

    RateLimit limit_;
    double per_ms_;  // tokens refilled per millisecond
    std::uint64_t seed_;
    std::vector<Slot> slots_;
    std::unique_ptr<std::mutex[]> locks_;
};

// The middleware: each request is counted against the first rule whose paths include its
// route's template (its path when no route serves it), else the rule without paths. Over the limit: 429 {"detail": "Rate limit exceeded: 10
// per 1 minute"} with Retry-After; every counted answer carries the RateLimit-Policy and
// RateLimit headers of draft-ietf-httpapi-ratelimit-headers-09 ("auth";q=10;w=60 and
// "auth";r=9;t=6). The client is RequestContext::client (ProxyHeaders decides it).
class RateLimits final : public Middleware {
  public:
    struct Rule {
        std::string name;  // in the headers: "auth", "default"
        RateLimit limit;
        std::vector<std::string> paths;  // route templates; empty: every route no other rule names
    };
    RateLimits(std::vector<Rule> rules, std::size_t slots_per_rule = 1 << 16);

    std::optional<Response> before(RequestContext& ctx) const override;

    // Requests refused so far, by rule name in the rules' order.
    std::vector<std::pair<std::string, std::uint64_t>> rejected() const;
    std::size_t memory_bytes() const;

  private:
    struct Limited {
        Rule rule;
        std::string policy;  // the RateLimit-Policy value
        std::unique_ptr<TokenBuckets> buckets;
        std::unique_ptr<std::atomic<std::uint64_t>> rejected = std::make_unique<std::atomic<std::uint64_t>>(0);
    };
    std::vector<Limited> rules_;
};

}  // namespace http
