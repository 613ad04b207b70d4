#include "api/login_limiter.hpp"

namespace api {

namespace {
constexpr std::size_t kMaxClients = 100000;  // memory bound: beyond it, expired entries are swept
}

void LoginLimiter::forget_old(std::deque<Clock::time_point>& failures, Clock::time_point now) const {
    while (!failures.empty() && failures.front() + window_ <= now) failures.pop_front();
}

std::optional<std::chrono::seconds> LoginLimiter::blocked(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(client);
    if (it == failures_.end()) return std::nullopt;
    forget_old(it->second, now);
    if (it->second.size() < max_failures_) return std::nullopt;
    const auto wait = std::chrono::ceil<std::chrono::seconds>(it->second.front() + window_ - now);
    return std::max(wait, std::chrono::seconds(1));
}

void LoginLimiter::failed(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (failures_.size() >= kMaxClients) {
        for (auto it = failures_.begin(); it != failures_.end();) {
            forget_old(it->second, now);
            it = it->second.empty() ? failures_.erase(it) : std::next(it);
        }
    }
    auto& list = failures_[client];
    forget_old(list, now);
    list.push_back(now);
    if (list.size() > max_failures_) list.pop_front();
}

void LoginLimiter::succeeded(const std::string& client) {
    std::lock_guard lock(mutex_);
    failures_.erase(client);
}

}  // namespace api
