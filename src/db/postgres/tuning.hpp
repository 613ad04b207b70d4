#pragma once
// The PostgreSQL backend's numbers, in one place: how deep a connection's pipeline goes,
// how a lost connection is retried, when a connection counts as stalled, and which reads
// are then sent again elsewhere (hedged_read.hpp). What each value was measured against
// is in docs/design/postgres-pipeline.md.

#include <chrono>
#include <cstddef>

namespace db::postgres {

using Clock = std::chrono::steady_clock;

struct Tuning {
    // --- the pipeline --------------------------------------------------------------
    // Statements queued on one connection before a request waits for room: bounds the
    // memory of one connection's queue and how long its last statement waits.
    static constexpr std::size_t max_pipeline_depth = 64;
    // Statements gather on the thread's first usable connection up to this depth, then
    // spill to the least busy one: fewer PostgreSQL backends runnable at once (their
    // scheduling on a shared machine showed as tail latency when every statement was
    // spread), the others left for transactions and bursts.
    static constexpr std::size_t spill_depth = 32;
    // A statement's usual time on a connection is a moving average: each answer moves it
    // by 1/cost_smoothing of the difference (recent answers count, one slow one does not
    // decide).
    static constexpr int cost_smoothing = 4;

    // --- reconnecting --------------------------------------------------------------
    // After a failed connection attempt, the first wait; it doubles up to max_backoff.
    static constexpr std::chrono::milliseconds min_backoff{100};
    static constexpr std::chrono::milliseconds max_backoff{5000};

    // --- stalls and hedged reads ---------------------------------------------------
    // How often a pool looks at its connections' deadlines and stalls while statements
    // wait: one timer per pool, not one per statement. A stall is noticed, and a
    // statement's deadline met, within this.
    static constexpr std::chrono::milliseconds watch_interval{10};
    // A connection is stalled when the statement at its pipeline's front has had no answer
    // for stall_after and for stall_factor times what it usually takes there: a backend the
    // kernel leaves runnable but unscheduled, not a statement that is merely slow
    // (stall_after is well above a point read's usual time under load).
    static constexpr std::chrono::milliseconds stall_after{20};
    static constexpr int stall_factor = 8;
    // A read queued on a stalled connection is sent again elsewhere (hedged) only when it
    // usually takes at most this long: the stalled backend may still run it, so running it
    // twice must cost little.
    static constexpr std::chrono::milliseconds cheap_read{2};
    // Hedges in one read's chain (a hedge's own place may stall too): bounds the work one
    // read can cause when every backend is stalled.
    static constexpr unsigned max_hedges = 3;
};

}  // namespace db::postgres
