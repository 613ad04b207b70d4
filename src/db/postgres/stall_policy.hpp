#pragma once
// When a PostgreSQL connection counts as stalled, which of its queued reads are hedged
// (sent again elsewhere, first answer wins: hedged_read.hpp), and where a hedge goes.
// Pure decisions over plain facts and a given time: no libpq, no clock, no I/O, so that
// they are tested with made-up times (tests/unit/stall_policy_test.cpp).

#include <cstddef>
#include <optional>
#include <span>

#include "db/postgres/tuning.hpp"

namespace db::postgres::stall_policy {

// Whether a connection is stalled at `now`: its front statement, in the pipeline since
// `front_since` (its sending, or the previous answer if later), has had no answer for
// Tuning::stall_after and for Tuning::stall_factor times `usual` (what it usually takes
// there; zero if unknown).
bool stalled(Clock::time_point now, Clock::time_point front_since, Clock::duration usual);

// What the policy knows of a read queued on a stalled connection.
struct QueuedRead {
    bool hedgeable = false;     // a read (db::reads) of a prepared statement, not many rows, not in a transaction
    bool answered = false;      // its answer (or error, or deadline) has come
    bool hedge_out = false;     // a hedge of it is on its way
    unsigned hedges = 0;        // hedges in its chain so far (itself a hedge: 1 or more)
    // What its statement usually takes on this connection, else on the thread's others
    // (the most on any); unknown if it was never answered on one.
    std::optional<Clock::duration> usual;
};

// Whether to hedge the read now: a hedgeable read, unanswered, without a hedge out, with
// hedges left in its chain, and cheap (Tuning::cheap_read). A hedge is cheap already: it
// was judged where it came from.
bool hedge(const QueuedRead& read);

// Whether a statement held up on this thread goes to another thread's pool before it is
// queued here: a read that may run elsewhere (not many rows), when another thread has a
// pool. Held up: the connection the pool gives is stalled (then every one of the thread's
// is), or the pool gives none while one is stalled. Queued here, the read would wait behind
// the stalls, and hedged reads keep their pipeline places until their first place answers:
// with several backends of a thread stopped, the pipelines filled up, and then nothing
// could be queued until the stalls ended.
bool read_elsewhere_first(bool read, bool other_thread);

// A connection that a hedge could go to.
struct Candidate {
    bool usable = false;  // up, not in a transaction, not stalled, room in its pipeline
    Clock::time_point last_answer{};
    std::size_t depth = 0;  // statements queued on it
};

// Where a hedge goes: a connection of this thread answered within Tuning::stall_after (a
// backend that answered lately runs; an idle one's may be starved unseen), the least
// busy; else another thread's pool, if there is one and this read has not tried it yet
// (this thread's backends may be starved together); else any usable connection here, the
// least busy.
struct Place {
    enum class Kind { this_thread, other_thread, nowhere } kind = Kind::nowhere;
    std::size_t candidate = 0;  // this_thread: its index in the candidates
};
Place place(Clock::time_point now, std::span<const Candidate> candidates, bool other_thread);

}  // namespace db::postgres::stall_policy
