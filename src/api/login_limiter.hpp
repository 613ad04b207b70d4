#pragma once
// Failed logins, counted per account (the e-mail tried) and per client address, each
// with its own limit within one window: the account's limit stops guessing one user's
// password from many addresses, the address's limit stops one address from trying a
// few guesses on each of many accounts. An attempt is reserved before its password is
// verified and counts against both limits until its outcome is known, so that however
// many arrive at once, no more are verified than the limits allow. A success clears
// its own account's failures only.
//
// One limiter for the process behind a mutex: logins are few and slow (hashing), so
// the lock is never what limits them, and a client's connections may land on any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

namespace api {

class LoginLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        unsigned per_account = 5;
        unsigned per_client = 50;
        std::chrono::seconds window{60};
    };

    // One reserved login attempt. Its outcome is reported once; destroyed without one
    // (the request failed for another reason), it counts as nothing.
    class Attempt {
    public:
        Attempt(Attempt&& other) noexcept;
        Attempt& operator=(Attempt&&) = delete;
        ~Attempt();

        void failed();
        void succeeded();

    private:
        friend class LoginLimiter;
        Attempt(LoginLimiter* limiter, std::string account, std::string client)
            : limiter_(limiter), account_(std::move(account)), client_(std::move(client)) {}
        LoginLimiter* limiter_;
        std::string account_;
        std::string client_;
    };

    explicit LoginLimiter(Limits limits) : limits_(limits) {}

    // Reserves an attempt on `account` from `client`, or says how long to wait (at least
    // a second) if either has used up its limit.
    std::variant<Attempt, std::chrono::seconds> reserve(std::string account, std::string client,
                                                        Clock::time_point now = Clock::now());

    // Attempts refused (a wait said instead) so far.
    std::uint64_t refused() const;

private:
    struct Record {
        std::deque<Clock::time_point> failures;  // within the window, oldest first
        unsigned pending = 0;                    // reserved attempts not decided yet
    };
    using Table = std::unordered_map<std::string, Record>;

    // How long `key` must wait before another attempt, if it must.
    std::optional<std::chrono::seconds> wait(Table& table, const std::string& key, unsigned limit,
                                             Clock::time_point now);
    void forget_old(Record& r, Clock::time_point now) const;
    void sweep(Table& table, Clock::time_point now);
    enum class Outcome { failed, succeeded, undecided };
    // Ends a reserved attempt: a failure counts against both, a success clears its
    // account's failures, an undecided one only frees its reservation.
    void finish(const std::string& account, const std::string& client, Outcome outcome, Clock::time_point now);

    Limits limits_;
    mutable std::mutex mutex_;
    Table accounts_;
    Table clients_;
    std::uint64_t refused_ = 0;
};

}  // namespace api
