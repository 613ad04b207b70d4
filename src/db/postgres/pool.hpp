#pragma once
// A thread's PostgreSQL connections: single statements of many requests share a
// connection's pipeline, a transaction takes one for itself.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/task.hpp"
#include "db/database.hpp"
#include "db/postgres/connection.hpp"

namespace db::postgres {

class Pool;

// The pools of a connector (one per thread), for its stats() on any thread.
class PoolRegistry {
public:
    void add(const Pool* pool);
    void remove(const Pool* pool);
    PoolStats stats() const;

private:
    mutable std::mutex mutex_;
    std::vector<const Pool*> pools_;
};

class Pool {
public:
    // `registry`, if any, lists the pool while it lives.
    Pool(asio::io_context& ioc, std::string conninfo, ConnectorOptions options,
         std::shared_ptr<PoolRegistry> registry = nullptr);
    ~Pool();

    // Its connections and waiters now; callable from any thread.
    PoolStats stats() const;

    asio::io_context& ioc() { return ioc_; }
    // False once the pool is destroyed: what resumes after that (a transaction's
    // rollback, a waiter) must not touch it.
    std::shared_ptr<const bool> alive() const { return alive_; }
    const std::string& conninfo() const { return conninfo_; }
    const ConnectorOptions& options() const { return options_; }

    // A connection to queue a single statement on, or one for a transaction alone.
    // `deadline`: the caller's own, if sooner than the pool's timeout; `many_rows`: for a
    // db::bulk_reads statement (see pick()).
    core::Task<std::shared_ptr<Connection>> acquire(bool exclusive, Clock::time_point deadline = Clock::time_point::max(),
                                                    bool many_rows = false);
    // A connection to queue a single statement on if one is usable now, without waiting.
    // A connection at once, or null (also while others wait for one: they go first).
    std::shared_ptr<Connection> try_acquire(bool many_rows = false) const {
        return waiters_.empty() ? pick(many_rows) : nullptr;
    }
    // Another connection to send a read let go from `from` (Connection::let_go_queued_reads)
    // to: up, shared, not stalled, not deep (kSpillDepth), the least busy; or null.
    std::shared_ptr<Connection> stand_in(const Connection& from) const;
    void release_exclusive(Connection& conn);
    // Something changed (a connection came up or freed): as many waiters as there is room
    // for, first in line first, look again (at least the first, to learn of a connection
    // that went down).
    void notify();
    // Checks the connections' deadlines and stalls every kWatchInterval while any statement
    // or connection attempt waits (one timer for the pool, not one per statement); a
    // stalled connection lets its queued reads go when there is a stand-in.
    void watch();

private:
    std::shared_ptr<Connection> pick(bool many_rows) const;
    bool any_connecting() const;

    asio::io_context& ioc_;
    std::string conninfo_;
    ConnectorOptions options_;
    std::vector<std::shared_ptr<Connection>> conns_;
    struct Waiter {
        asio::steady_timer* timer;
        bool called = false;  // woken by notify(): may take a place, whatever its rank
    };
    std::list<Waiter> waiters_;
    std::size_t called_ = 0;  // waiters woken by notify() that have not looked yet
    asio::steady_timer watchdog_{ioc_};
    bool watching_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::atomic<std::size_t> waiting_{0};  // waiters_.size(), for stats()
    std::shared_ptr<PoolRegistry> registry_;
};

// Gives a connection taken for a transaction or script back, if the pool still exists.
struct ExclusiveRelease {
    std::shared_ptr<const bool> alive;
    Pool& pool;
    Connection& conn;
    ~ExclusiveRelease() {
        if (*alive) pool.release_exclusive(conn);
    }
};

}  // namespace db::postgres
