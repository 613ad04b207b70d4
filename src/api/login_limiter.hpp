#pragma once
// Failed logins per client address: after `max_failures` within `window`, further
// attempts are refused (429) until the oldest failure leaves the window. One limiter
// for the process behind a mutex: logins are few and slow (hashing), so the lock is
// never what limits them, and a client's connections may land on any thread.

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace api {

class LoginLimiter {
public:
    using Clock = std::chrono::steady_clock;

    LoginLimiter(unsigned max_failures, std::chrono::seconds window) : max_failures_(max_failures), window_(window) {}

    // How long `client` must wait before trying again, if it must.
    std::optional<std::chrono::seconds> blocked(const std::string& client, Clock::time_point now = Clock::now());
    void failed(const std::string& client, Clock::time_point now = Clock::now());
    void succeeded(const std::string& client);

private:
    void forget_old(std::deque<Clock::time_point>& failures, Clock::time_point now) const;

    unsigned max_failures_;
    std::chrono::seconds window_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace api
