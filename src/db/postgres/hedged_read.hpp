#pragma once
// Hedged reads: a read waiting on a stalled connection (its backend not scheduled) is sent
// again to a second place, another connection of this thread or another thread's pool;
// the first answer wins and the other is dropped. Which reads, and where to, is the
// policy's (stall_policy.hpp); this file carries it out.
//
// One primitive holds it together, Answer: everything that can answer a statement (its
// connection's results, its deadline, its connection's loss, a hedge) delivers to it, and
// the first delivery alone resumes the waiter. Only reads (db::reads: plain SELECTs,
// checked when compiled) are ever hedged, so running one twice changes nothing.

#include <boost/asio/io_context.hpp>
#include <coroutine>
#include <memory>
#include <optional>

#include "core/task.hpp"
#include "db/database.hpp"
#include "db/postgres/tuning.hpp"

namespace db::postgres {

// What answers a statement: its rows, an error, or (a read of a group that another
// statement's failure skipped) neither: its caller sends it again on its own.
struct Outcome {
    std::optional<Result> result;
    std::optional<DatabaseError> error;
    bool aborted = false;

    static Outcome of(Result rows) {
        Outcome o;
        o.result = std::move(rows);
        return o;
    }
    static Outcome failed(DatabaseError error) {
        Outcome o;
        o.error = std::move(error);
        return o;
    }

    // The rows (none for a statement that returns none); throws the error.
    Result take();
};

// The one answer a waiting statement gets. deliver() is the only way its waiter is
// resumed: the first delivery is kept and resumes it, on its loop on a fresh turn (never
// inside the deliverer's own I/O); later deliveries are dropped.
class Answer {
public:
    bool delivered() const { return delivered_; }
    // False if an answer was delivered before (this one is dropped).
    bool deliver(Outcome&& outcome, boost::asio::io_context& loop);

    struct Wait {
        Answer& answer;
        bool await_ready() const noexcept { return answer.delivered_; }
        void await_suspend(std::coroutine_handle<> h) noexcept { answer.waiter_ = h; }
        void await_resume() const noexcept {}
    };
    // co_await answer.wait(): until delivered (at once if it was).
    Wait wait() { return Wait{*this}; }
    // What was delivered, once it was.
    Outcome& outcome() { return outcome_; }

private:
    Outcome outcome_;
    bool delivered_ = false;
    std::coroutine_handle<> waiter_;
};

class Pool;
class Connection;
struct Op;

// Hedges those of the reads queued on `from`, a stalled connection of `pool`, that the
// policy says to; called by the pool's watch every Tuning::watch_interval.
void hedge_queued_reads(Pool& pool, Connection& from);

// A read whose own thread has every connection stalled (stall_policy::read_elsewhere_first)
// goes to another thread's pool first, rather than queue behind the stalls (where it would
// fill the pipelines until the stalls end). Its rows, or none (no other pool, none there
// could take it, an error there): then it queues here after all.
core::Task<std::optional<Result>> read_on_another_thread(Pool& pool, Statement statement, Params params,
                                                        Clock::time_point deadline);

}  // namespace db::postgres
