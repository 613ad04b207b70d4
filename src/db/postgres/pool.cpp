#include "db/postgres/pool.hpp"

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
bool PoolRegistry::post_to_another(std::uint64_t from, std::function<void(Pool&)> job) {
    std::lock_guard lock(mutex_);
    if (pools_.size() < 2) return false;
    auto it = std::find_if(pools_.begin(), pools_.end(), [from](const Entry& e) { return e.id == from; });
    it = it == pools_.end() || std::next(it) == pools_.end() ? pools_.begin() : std::next(it);
    asio::post(it->pool->ioc(), [pool = it->pool, alive = it->alive, job = std::move(job)] {
        if (*alive) job(*pool);
    });
    return true;
}

bool PoolRegistry::post_to(std::uint64_t id, std::function<void()> job) {
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

// Statements gather on the first usable connection until its pipeline is
// Tuning::spill_depth deep, then spill to the least busy one (see Tuning); the other
// connections serve transactions and bursts.
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
        return c.state() == Connection::State::ready && !c.exclusive && c.depth() < Tuning::max_pipeline_depth;
    };
    std::shared_ptr<Connection> best;
    if (many_rows) {
        for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
            if (usable(**it) && (!best || (*it)->depth() < best->depth())) best = *it;
        }
        return best;
    }
    const std::size_t spill = options_.prepared_statements ? Tuning::spill_depth : 1;
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

bool Pool::any_stalled() const {
    for (const auto& c : conns_)
        if (c->stalled()) return true;
    return false;
}

bool Pool::any_connecting() const {
    for (const auto& c : conns_)
        if (c->state() == Connection::State::connecting) return true;
    return false;
}

// First come, first served. While statements wait for room, a newcomer queues behind them,
// and what frees up goes to the waiters in their order: notify() wakes as many as there is
// room for, and only those (or the first in line) may take a place: woken all at once, with
// newcomers taking room as it came, the newest requests could take every place that freed
// up while queued ones waited for seconds; woken one by one, each waited a loop turn.
void Pool::notify() {
    std::size_t room = 0;
    for (const auto& c : conns_) {
        if (c->state() == Connection::State::ready && !c->exclusive && c->depth() < Tuning::max_pipeline_depth)
            room += Tuning::max_pipeline_depth - c->depth();
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
    watchdog_.expires_after(Tuning::watch_interval);
    watchdog_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (ec || !*alive) return;  // the pool is gone
        watching_ = false;
        const auto now = Clock::now();
        bool waiting = false;
        // A copy: giving a connection up may notify, never add or remove connections,
        // but the check must not depend on that.
        const std::vector<std::shared_ptr<Connection>> conns(conns_);
        for (const auto& c : conns) waiting = c->check_deadlines(now) || waiting;
        for (const auto& c : conns)
            if (c->stalled()) hedge_queued_reads(*this, *c);
        if (waiting) watch();
    });
}

}  // namespace db::postgres
