#include "db/postgres/pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <functional>

#include "core/asio_op.hpp"

namespace db::postgres {

namespace {
std::atomic<std::uint64_t> pools_made{0};
}

void PoolRegistry::add(Pool* pool) {
    std::lock_guard lock(mutex_);
    pools_.push_back(Entry{pool, pool->id(), pool->alive()});
}

void PoolRegistry::remove(const Pool* pool) {
    std::lock_guard lock(mutex_);
    std::erase_if(pools_, [pool](const Entry& e) { return e.pool == pool; });
}

bool PoolRegistry::several() const {
    std::lock_guard lock(mutex_);
    return pools_.size() > 1;
}

// Posted under the lock: a registered pool lives, and so does its loop, which outlives it.
template <class Job>
bool PoolRegistry::post_to_another(std::uint64_t from, Job job) {
    std::lock_guard lock(mutex_);
    if (pools_.size() < 2) return false;
    auto it = std::find_if(pools_.begin(), pools_.end(), [from](const Entry& e) { return e.id == from; });
    it = it == pools_.end() || std::next(it) == pools_.end() ? pools_.begin() : std::next(it);
    asio::post(it->pool->ioc(), [pool = it->pool, alive = it->alive, job = std::move(job)]() mutable {
        if (*alive) job(*pool);
    });
    return true;
}

template <class Job>
bool PoolRegistry::post_to(std::uint64_t id, Job job) {
    std::lock_guard lock(mutex_);
    for (const Entry& e : pools_) {
        if (e.id != id) continue;
        asio::post(e.pool->ioc(), std::move(job));
        return true;
    }
    return false;
}

PoolStats PoolRegistry::stats() const {
    std::lock_guard lock(mutex_);
    PoolStats total;
    for (const Entry& e : pools_) {
        const auto s = e.pool->stats();
        total.open += s.open;
        total.in_use += s.in_use;
        total.waiting += s.waiting;
    }
    return total;
}

Pool::Pool(asio::io_context& ioc, std::string conninfo, ConnectorOptions options,
           std::shared_ptr<PoolRegistry> registry)
    : ioc_(ioc), conninfo_(std::move(conninfo)), options_(options), registry_(std::move(registry)),
      id_(++pools_made) {
    for (unsigned i = 0; i < std::max(1u, options_.size); ++i) conns_.push_back(std::make_shared<Connection>(*this));
    for (auto& c : conns_) c->start();
    if (registry_) registry_->add(this);  // once conns_ is complete: stats() reads it
}

Pool::~Pool() {
    if (registry_) registry_->remove(this);
    *alive_ = false;
    for (auto& c : conns_) c->close();
    for (auto& w : waiters_) w.timer->cancel();  // every waiter: they learn the pool is gone
}

// Statements gather on the first usable connection until its pipeline is kSpillDepth
// deep, then spill to the least busy one. Measured on 2 cores: spreading every
// statement over all connections keeps more PostgreSQL backends runnable at once, and
// their scheduling shows as tail latency (item_get p99 of 6-140 ms with 4 per thread
// spread, ~3 ms gathered, throughput alike); the other connections serve transactions
// and bursts.
//
// With DB_PREPARED_STATEMENTS=false a connection has one Sync in flight at a time
// (Connection::wait_to_send): an idle connection is taken first.
//
// A read of many rows (db::bulk_reads) takes the least busy connection, looking from the
// last: away from the first, where the small statements gather, so that they do not wait
// for it in the pipeline. (With a pool of one, it queues with them.)
//
// A stalled connection (Connection::stalled) takes a statement only when no other can.
std::shared_ptr<Connection> Pool::pick(bool many_rows) const {
    const auto usable = [](const Connection& c) {
        return c.state() == Connection::State::ready && !c.exclusive && c.depth() < kMaxPipelineDepth;
    };
    std::shared_ptr<Connection> best;
    if (many_rows) {
        for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
            if (usable(**it) && (!best || (*it)->depth() < best->depth())) best = *it;
        }
        return best;
    }
    const std::size_t spill = options_.prepared_statements ? kSpillDepth : 1;
    std::shared_ptr<Connection> stalled;  // the last resort: the least busy stalled one
    for (const auto& c : conns_) {
        if (!usable(*c)) continue;
        if (c->stalled()) {
            if (!stalled || c->depth() < stalled->depth()) stalled = c;
            continue;
        }
        if (c->depth() < spill) return c;
        if (!best || c->depth() < best->depth()) best = c;
    }
    return best ? best : stalled;
}

std::shared_ptr<Connection> Pool::stand_in(const Connection* from, bool lately) const {
    const auto since = lately ? Clock::now() - kStallAfter : Clock::time_point::min();
    std::shared_ptr<Connection> best;
    for (const auto& c : conns_) {
        if (c.get() == from || c->state() != Connection::State::ready || c->exclusive || c->stalled() ||
            c->depth() >= kMaxPipelineDepth || c->last_answer() < since)
            continue;
        if (!best || c->depth() < best->depth()) best = c;
    }
    return best;
}

std::optional<Clock::duration> Pool::usual_elsewhere(const Connection& from, std::string_view sql) const {
    std::optional<Clock::duration> most;
    for (const auto& c : conns_) {
        if (c.get() == &from) continue;
        if (const auto usual = c->usual_of(sql); usual && (!most || *usual > *most)) most = usual;
    }
    return most;
}

namespace {
// The way back to the asking pool's loop for a read sent to another thread: one reply,
// its answer or none (also when the job, or the read there, ends unfinished).
class Reply {
public:
    Reply(std::shared_ptr<PoolRegistry> registry, std::uint64_t home, std::shared_ptr<Op> op,
          std::shared_ptr<AnswerElsewhere> into)
        : registry_(std::move(registry)), home_(home), op_(std::move(op)), into_(std::move(into)) {}
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    ~Reply() {
        if (!sent_) send(std::nullopt);
    }
    // Never sent on its way (no other pool after all): no reply then, none is awaited.
    void drop() { sent_ = true; }

    void send(std::optional<Result> result) {
        sent_ = true;
        // Run on the asking loop, if its pool still lives: the op is only touched there.
        registry_->post_to(home_, [op = op_, into = into_, result = std::move(result)]() mutable {
            into->result = std::move(result);
            if (op->done) return;  // its own answer (or error, or deadline) came first
            if (auto waiter = std::exchange(op->waiter, nullptr)) waiter.resume();
        });
    }

private:
    std::shared_ptr<PoolRegistry> registry_;
    std::uint64_t home_;
    std::shared_ptr<Op> op_;
    std::shared_ptr<AnswerElsewhere> into_;
    bool sent_ = false;
};

// On the other thread: the read on a stand-in there (where it may move on, as any read,
// kMaxMoves in all). An error there is not passed on: the asker then reads it itself.
core::Task<void> read_for_another_thread(std::shared_ptr<Connection> conn, std::string sql, Params params,
                                         Clock::time_point deadline, unsigned moves, std::shared_ptr<Reply> reply) {
    std::optional<Result> result;
    try {
        result = co_await conn->execute(db::reads(sql), std::move(params), deadline, moves);
    } catch (const DatabaseError&) {
    }
    reply->send(std::move(result));
}
}  // namespace

std::shared_ptr<AnswerElsewhere> Pool::send_to_another_thread(std::shared_ptr<Op> op, std::string sql, Params params,
                                                              Clock::time_point deadline, unsigned moves) {
    if (!registry_) return nullptr;
    auto into = std::make_shared<AnswerElsewhere>();
    auto reply = std::make_shared<Reply>(registry_, id_, std::move(op), into);
    const bool sent = registry_->post_to_another(
        id_, [reply, sql = std::move(sql), params = std::move(params), deadline, moves](Pool& there) mutable {
            auto conn = there.stand_in(nullptr, true);
            if (!conn) conn = there.stand_in(nullptr);
            if (conn)
                core::spawn(read_for_another_thread(std::move(conn), std::move(sql), std::move(params), deadline,
                                                    moves, std::move(reply)),
                            [](std::exception_ptr) {});
        });  // (none there: the reply, dropped with the job, says none)
    if (sent) return into;
    reply->drop();  // else it would resume the caller's next wait on `op`
    return nullptr;
}

core::Task<std::optional<Result>> Pool::read_on_another_thread(std::string sql, Params params,
                                                               Clock::time_point deadline) {
    auto op = std::make_shared<Op>();  // in no pipeline: done only by the reply
    const auto into = send_to_another_thread(op, std::move(sql), std::move(params), deadline, 0);
    if (!into) co_return std::nullopt;
    // Nothing else of this wait is on this loop: it must not run out of work meanwhile.
    const auto work = asio::make_work_guard(ioc_);
    co_await OpAnswered{*op};
    co_return std::move(into->result);
}

PoolStats Pool::stats() const {
    PoolStats s;
    for (const auto& c : conns_) {
        const auto seen = c->seen();
        s.open += seen.up;
        s.in_use += seen.up && seen.in_use;
    }
    s.waiting = waiting_.load(std::memory_order_relaxed);
    return s;
}

bool Pool::any_connecting() const {
    for (const auto& c : conns_)
        if (c->state() == Connection::State::connecting) return true;
    return false;
}

// First come, first served. While statements wait for room, a newcomer queues behind them,
// and what frees up goes to the waiters in their order: notify() wakes as many as there is
// room for, and only those (or the first in line) may take a place. (When every waiter was
// woken and newcomers took room at once, a sustained overload let the newest requests take
// every place that freed up while some queued ones waited until wrk gave up on them:
// 2,000-4,000 requests unanswered for 2 s at 5,000 connections. Waking only the first, which
// then woke the next, served them one loop turn each: a third of the throughput at 1,000.)
void Pool::notify() {
    std::size_t room = 0;
    for (const auto& c : conns_) {
        if (c->state() == Connection::State::ready && !c->exclusive && c->depth() < kMaxPipelineDepth)
            room += kMaxPipelineDepth - c->depth();
    }
    std::size_t wake = room > called_ ? room - called_ : 0;
    if (wake == 0 && called_ == 0) wake = 1;
    for (auto& w : waiters_) {
        if (wake == 0) break;
        if (w.called) continue;
        w.called = true;
        ++called_;
        w.timer->cancel();
        --wake;
    }
}

core::Task<std::shared_ptr<Connection>> Pool::acquire(bool exclusive, Clock::time_point caller_deadline,
                                                      bool many_rows) {
    const auto take = [exclusive](std::shared_ptr<Connection> c) {
        // A transaction's BEGIN queues behind what is already there, outside it;
        // marking the connection keeps anything else from queueing after it.
        if (exclusive) {
            c->exclusive = true;
            c->publish();
        }
        return c;
    };
    if (waiters_.empty()) {
        if (auto c = pick(many_rows)) co_return take(std::move(c));
    }
    const auto deadline = std::min(Clock::now() + options_.acquire_timeout, caller_deadline);
    asio::steady_timer timer(ioc_, deadline);
    waiters_.push_back(Waiter{&timer});
    const auto place = std::prev(waiters_.end());
    waiting_.store(waiters_.size(), std::memory_order_relaxed);
    // Leaving the line without a place (timed out, no database): what it was woken for goes
    // to the next.
    const auto leave = [this, place](bool gave_up) {
        waiters_.erase(place);
        waiting_.store(waiters_.size(), std::memory_order_relaxed);
        if (gave_up) notify();
    };
    const auto alive = alive_;
    bool may_go = place == waiters_.begin();
    for (;;) {
        if (may_go) {
            if (auto c = pick(many_rows)) {
                leave(false);
                co_return take(std::move(c));
            }
        }
        // Every connection down and none trying right now: answer at once, do not wait.
        const bool any_up = std::any_of(conns_.begin(), conns_.end(),
                                        [](const auto& c) { return c->state() == Connection::State::ready; });
        if (!any_up && !any_connecting()) {
            leave(true);
            throw unavailable("no connection to the database");
        }
        if (Clock::now() >= deadline) {
            leave(true);
            throw DatabaseError(DatabaseError::Kind::timeout, "timed out waiting for a database connection");
        }
        // Until notify() calls it, or the deadline (a cancelled wait leaves the deadline set).
        co_await core::async_wait_op([&](auto cb) { timer.async_wait(std::move(cb)); });
        if (!*alive) throw unavailable("the database pool was closed");
        may_go = place->called || place == waiters_.begin();
        if (place->called) {
            place->called = false;
            --called_;
        }
    }
}

void Pool::release_exclusive(Connection& conn) {
    conn.exclusive = false;
    conn.publish();
    notify();
}

void Pool::watch() {
    if (watching_) return;
    watching_ = true;
    watchdog_.expires_after(kWatchInterval);
    watchdog_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (ec || !*alive) return;  // the pool is gone
        watching_ = false;
        const auto now = Clock::now();
        bool waiting = false;
        // A copy: giving a connection up may notify, never add or remove connections,
        // but the check must not depend on that.
        const std::vector<std::shared_ptr<Connection>> conns(conns_);
        for (const auto& c : conns) waiting = c->check_deadlines(now) || waiting;
        for (const auto& c : conns) {
            if (c->stalled() && (stand_in(c.get()) || (registry_ && registry_->several()))) c->let_go_queued_reads();
        }
        if (waiting) watch();
    });
}

}  // namespace db::postgres
