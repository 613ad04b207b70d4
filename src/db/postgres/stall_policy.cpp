#include "db/postgres/stall_policy.hpp"

#include <algorithm>

namespace db::postgres::stall_policy {

bool stalled(Clock::time_point now, Clock::time_point front_since, Clock::duration usual) {
    const Clock::duration limit = std::max<Clock::duration>(Tuning::stall_after, Tuning::stall_factor * usual);
    return now - front_since >= limit;
}

bool hedge(const QueuedRead& read) {
    if (!read.hedgeable || read.answered || read.hedge_out || read.hedges >= Tuning::max_hedges) return false;
    if (read.hedges > 0) return true;
    return read.usual && *read.usual <= Tuning::cheap_read;
}

bool read_elsewhere_first(bool read, bool other_thread) { return read && other_thread; }

namespace {

// The least busy usable candidate answered since `since`, if any.
std::optional<std::size_t> least_busy(std::span<const Candidate> candidates, Clock::time_point since) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Candidate& c = candidates[i];
        if (!c.usable || c.last_answer < since) continue;
        if (!best || c.depth < candidates[*best].depth) best = i;
    }
    return best;
}

}  // namespace

Place place(Clock::time_point now, std::span<const Candidate> candidates, bool other_thread) {
    if (const auto lately = least_busy(candidates, now - Tuning::stall_after))
        return {Place::Kind::this_thread, *lately};
    if (other_thread) return {Place::Kind::other_thread, 0};
    if (const auto any = least_busy(candidates, Clock::time_point::min())) return {Place::Kind::this_thread, *any};
    return {};
}

}  // namespace db::postgres::stall_policy
