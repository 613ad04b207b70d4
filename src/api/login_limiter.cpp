#include "api/login_limiter.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace api {

namespace {
// Memory bound per table: beyond it, records with nothing in the window are swept.
constexpr std::size_t kMaxRecords = 100000;
}  // namespace

LoginLimiter::Attempt::Attempt(Attempt&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      account_(std::move(other.account_)),
      client_(std::move(other.client_)) {}

LoginLimiter::Attempt::~Attempt() {
    if (limiter_) limiter_->finish(account_, client_, Outcome::undecided, Clock::now());
}

void LoginLimiter::Attempt::failed() {
    if (auto* l = std::exchange(limiter_, nullptr)) l->finish(account_, client_, Outcome::failed, Clock::now());
}

void LoginLimiter::Attempt::succeeded() {
    if (auto* l = std::exchange(limiter_, nullptr)) l->finish(account_, client_, Outcome::succeeded, Clock::now());
}

void LoginLimiter::forget_old(Record& r, Clock::time_point now) const {
    while (!r.failures.empty() && r.failures.front() + limits_.window <= now) r.failures.pop_front();
}

void LoginLimiter::sweep(Table& table, Clock::time_point now) {
    if (table.size() < kMaxRecords) return;
    for (auto it = table.begin(); it != table.end();) {
        forget_old(it->second, now);
        it = it->second.failures.empty() && it->second.pending == 0 ? table.erase(it) : std::next(it);
    }
}

std::optional<std::chrono::seconds> LoginLimiter::wait(Table& table, const std::string& key, unsigned limit,
                                                       Clock::time_point now) {
    auto it = table.find(key);
    if (it == table.end()) return std::nullopt;
    Record& r = it->second;
    forget_old(r, now);
    if (r.failures.size() + r.pending < limit) return std::nullopt;
    // Full of failures: until the oldest leaves the window. Full only with attempts
    // still being decided: they take about a second (hashing).
    std::chrono::seconds w(1);
    if (r.failures.size() >= limit)
        w = std::chrono::ceil<std::chrono::seconds>(r.failures[r.failures.size() - limit] + limits_.window - now);
    return std::max(w, std::chrono::seconds(1));
}

std::uint64_t LoginLimiter::refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

std::variant<LoginLimiter::Attempt, std::chrono::seconds> LoginLimiter::reserve(std::string account,
                                                                                std::string client,
                                                                                Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto account_wait = wait(accounts_, account, limits_.per_account, now);
    const auto client_wait = wait(clients_, client, limits_.per_client, now);
    if (account_wait || client_wait) {
        ++refused_;
        return std::max(account_wait.value_or(std::chrono::seconds(0)), client_wait.value_or(std::chrono::seconds(0)));
    }
    sweep(accounts_, now);
    sweep(clients_, now);
    ++accounts_[account].pending;
    ++clients_[client].pending;
    return Attempt(this, std::move(account), std::move(client));
}

void LoginLimiter::finish(const std::string& account, const std::string& client, Outcome outcome,
                          Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto [table, key, limit] : {std::tuple{&accounts_, &account, limits_.per_account},
                                     std::tuple{&clients_, &client, limits_.per_client}}) {
        auto it = table->find(*key);
        if (it == table->end()) continue;
        Record& r = it->second;
        --r.pending;
        if (outcome == Outcome::succeeded && table == &accounts_) r.failures.clear();  // its own account only
        if (outcome == Outcome::failed) {
            forget_old(r, now);
            r.failures.push_back(now);
            while (r.failures.size() > limit) r.failures.pop_front();
        }
        if (r.pending == 0 && r.failures.empty()) table->erase(it);
    }
}

}  // namespace api
