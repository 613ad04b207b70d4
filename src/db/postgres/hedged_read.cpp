#include "db/postgres/hedged_read.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <utility>
#include <vector>

#include "db/postgres/pool.hpp"
#include "db/postgres/stall_policy.hpp"

namespace db::postgres {

Result Outcome::take() {
    if (error) throw *error;
    return result ? std::move(*result) : Result{};
}

bool Answer::deliver(Outcome&& outcome, boost::asio::io_context& loop) {
    if (delivered_) return false;
    delivered_ = true;
    outcome_ = std::move(outcome);
    if (auto waiter = std::exchange(waiter_, nullptr)) boost::asio::post(loop, [waiter] { waiter.resume(); });
    return true;
}

namespace {

using stall_policy::Place;

// The SQL of a read, as a statement again: it was declared a read (db::reads, checked when
// compiled) where the op came from.
Statement read_again(const std::string& sql) {
    Statement statement(sql);
    statement.reads_only = true;
    return statement;
}

// What a statement usually takes on the pool's connections other than `from` (the most it
// takes on any), if it was answered on one.
std::optional<Clock::duration> usual_elsewhere(const Pool& pool, const Connection& from, const std::string& sql) {
    std::optional<Clock::duration> most;
    for (const auto& c : pool.connections()) {
        if (c.get() == &from) continue;
        if (const auto usual = c->usual_of(sql); usual && (!most || *usual > *most)) most = usual;
    }
    return most;
}

// What the policy knows of a read queued on `from`.
stall_policy::QueuedRead facts(const Pool& pool, const Connection& from, const Op& op) {
    stall_policy::QueuedRead read;
    read.hedgeable = op.hedgeable;
    read.answered = op.answer.delivered();
    read.hedge_out = op.hedge_out;
    read.hedges = op.hedges;
    if (op.hedgeable && op.hedges == 0) {
        const std::string& sql = from.sql_of(op);
        read.usual = from.usual_of(sql);
        if (!read.usual) read.usual = usual_elsewhere(pool, from, sql);
    }
    return read;
}

// The pool's connections as places a hedge could go to (`except` never).
std::vector<stall_policy::Candidate> candidates(const Pool& pool, const Connection* except) {
    std::vector<stall_policy::Candidate> out;
    out.reserve(pool.connections().size());
    for (const auto& c : pool.connections()) {
        const bool usable = c.get() != except && c->state() == Connection::State::ready && !c->exclusive &&
                            !c->stalled() && c->depth() < Tuning::max_pipeline_depth;
        out.push_back({usable, c->last_answer(), c->depth()});
    }
    return out;
}

// The hedge on another connection of this thread. An error there is not passed on: the
// read's first place still answers, or its deadline does.
core::Task<void> hedge_here(std::shared_ptr<Connection> there, std::shared_ptr<Op> op, std::string sql,
                            Params params, boost::asio::io_context& loop) {
    std::optional<Result> result;
    try {
        result = co_await there->execute(read_again(sql), std::move(params), op->deadline, op->hedges + 1);
    } catch (const std::exception&) {
    }
    op->hedge_out = false;
    if (result) op->answer.deliver(Outcome::of(std::move(*result)), loop);
}

// The way back home for a read sent to another thread: its rows, or none (no connection
// there, an error there, the job dropped with its pool), handed to `take` on the home
// loop, where alone what the read belongs to is touched. Sent exactly once: the destructor
// sends none.
class Reply {
public:
    using Take = std::function<void(std::optional<Result>)>;
    Reply(std::shared_ptr<PoolRegistry> registry, std::uint64_t home, Take take)
        : registry_(std::move(registry)), home_(home), take_(std::move(take)) {}
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    ~Reply() {
        if (!sent_) send(std::nullopt);
    }
    // Never sent on its way (no other pool after all): nothing to reply.
    void drop() { sent_ = true; }

    void send(std::optional<Result> result) {
        sent_ = true;
        registry_->post_to(home_, [take = std::move(take_), result = std::move(result)]() mutable {
            take(std::move(result));
        });
    }

private:
    std::shared_ptr<PoolRegistry> registry_;
    std::uint64_t home_;
    Take take_;
    bool sent_ = false;
};

core::Task<void> read_there(std::shared_ptr<Connection> conn, std::string sql, Params params,
                            Clock::time_point deadline, unsigned hedges, std::shared_ptr<Reply> reply) {
    std::optional<Result> result;
    try {
        result = co_await conn->execute(read_again(sql), std::move(params), deadline, hedges);
    } catch (const std::exception&) {
    }
    reply->send(std::move(result));
}

// Sends a read to another thread's pool, on a connection there that the policy picks (on
// that thread, with that pool's facts); what comes back goes to `take` on this loop. False
// if there is no other pool (then `take` is not called).
bool send_to_another_thread(Pool& home, std::string sql, Params params, Clock::time_point deadline,
                            unsigned hedges, Reply::Take take) {
    auto reply = std::make_shared<Reply>(home.registry(), home.id(), std::move(take));
    const bool posted = home.registry() && home.registry()->post_to_another(
        home.id(), [reply, sql = std::move(sql), params = std::move(params), deadline, hedges](Pool& there) mutable {
            const auto place = stall_policy::place(Clock::now(), candidates(there, nullptr), false);
            if (place.kind != Place::Kind::this_thread) return;  // none there: the reply says so
            core::spawn(read_there(there.connections()[place.candidate], std::move(sql), std::move(params),
                                   deadline, hedges, std::move(reply)),
                        [](std::exception_ptr) {});
        });
    if (!posted) reply->drop();
    return posted;
}

// Sends `op` (queued on `from`) to the place the policy picks, if any.
void hedge(Pool& pool, Connection& from, const std::shared_ptr<Op>& op);

// Hedges `op` if `from` is still stalled and the policy says so.
void hedge_if_worth_it(Pool& pool, Connection& from, const std::shared_ptr<Op>& op) {
    if (from.stalled() && stall_policy::hedge(facts(pool, from, *op))) hedge(pool, from, op);
}

void hedge(Pool& pool, Connection& from, const std::shared_ptr<Op>& op) {
    const bool other_thread = pool.registry() && pool.registry()->several() && !op->tried_other_thread;
    const auto place = stall_policy::place(Clock::now(), candidates(pool, &from), other_thread);
    if (place.kind == Place::Kind::nowhere) return;
    op->hedge_out = true;
    std::string sql = from.sql_of(*op);
    if (place.kind == Place::Kind::this_thread) {
        core::spawn(hedge_here(pool.connections()[place.candidate], op, std::move(sql), op->params, pool.ioc()),
                    [](std::exception_ptr) {});
        return;
    }
    op->tried_other_thread = true;
    // The reply's job runs on the home loop, but the pool may be gone by then (a loop closes
    // its pool and then runs what is left): it is touched only while it lives (its
    // connections are fixed for its life).
    const bool sent = send_to_another_thread(
        pool, std::move(sql), op->params, op->deadline, op->hedges + 1,
        [op, home = &pool, from = &from, alive = pool.alive()](std::optional<Result> result) {
            op->hedge_out = false;
            if (!*alive) return;  // its statements were all answered when it closed
            if (result)
                op->answer.deliver(Outcome::of(std::move(*result)), home->ioc());
            else  // none there could take it: another place here now, not at the next watch
                hedge_if_worth_it(*home, *from, op);
        });
    if (!sent) op->hedge_out = false;
}

}  // namespace

void hedge_queued_reads(Pool& pool, Connection& from) {
    // A copy: what a hedge starts must not change what is being looked at.
    const std::vector<std::shared_ptr<Op>> queued(from.pending().begin(), from.pending().end());
    for (const auto& op : queued) hedge_if_worth_it(pool, from, op);
}

core::Task<std::optional<Result>> read_on_another_thread(Pool& pool, Statement statement, Params params,
                                                        Clock::time_point deadline) {
    // Its only answer comes from there: nothing else of this wait is on this loop, which
    // must not run out of work meanwhile.
    const auto busy = boost::asio::make_work_guard(pool.ioc());
    const auto alive = pool.alive();
    auto answer = std::make_shared<Answer>();
    auto* loop = &pool.ioc();
    const bool sent = send_to_another_thread(pool, std::string(statement.sql), std::move(params), deadline, 0,
                                             [answer, loop](std::optional<Result> result) {
                                                 answer->deliver(result ? Outcome::of(std::move(*result)) : Outcome{},
                                                                 *loop);
                                             });
    if (!sent) co_return std::nullopt;
    co_await answer->wait();
    // The pool closed meanwhile: its caller must not go back to it.
    if (!*alive) throw DatabaseError(DatabaseError::Kind::unavailable, "the database pool was closed");
    co_return std::move(answer->outcome().result);
}

}  // namespace db::postgres
