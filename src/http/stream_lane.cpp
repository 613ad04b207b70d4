#include "http/stream_lane.hpp"

#include <algorithm>

#include "core/asio_op.hpp"

namespace http {

core::Task<bool> StreamLane::enter() {
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= busy_until_) co_return false;  // nothing else served lately: no turns
        if (!taken_ && now >= free_at_) {
            taken_ = true;
            gate_.expires_at(std::chrono::steady_clock::time_point::max());  // the others wait for leave()
            co_return true;
        }
        // Woken when the lane frees (leave() cancels the wait) or its rest is over. A gate
        // already open while the lane is taken (a piece without a turn left meanwhile) is
        // closed first, or the wait would not wait.
        if (taken_ && gate_.expiry() <= now) gate_.expires_at(std::chrono::steady_clock::time_point::max());
        co_await core::async_wait_op([&](auto cb) { gate_.async_wait(std::move(cb)); });
    }
}

void StreamLane::leave(std::chrono::steady_clock::duration took, bool turn) {
    if (turn) taken_ = false;
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t served = served_();
    if (served != last_served_) busy_until_ = now + kBusyFor;
    last_served_ = served;
    if (now < busy_until_) free_at_ = std::max(free_at_, now + kStreamRest * took);
    // Those waiting look again: at the end of the rest, or now if all is quiet again.
    if (!taken_) gate_.expires_at(now < busy_until_ ? free_at_ : now);
}

}  // namespace http
