#pragma once
// A thread's PostgreSQL connections: single statements of many requests share a
// connection's pipeline, a transaction takes one for itself.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/task.hpp"
#include "db/database.hpp"
#include "db/postgres/pg_connection.hpp"

namespace db::postgres {

class Pool;

// The pools of a connector (one per thread), for its stats() on any thread, and for the
// hedges a thread's stalled connections send to another thread (hedged_read.hpp).
class PoolRegistry {
public:
    void add(Pool* pool);
    void remove(const Pool* pool);
    PoolStats stats() const;
    bool several() const;  // more than one pool: another thread's may take a hedge

    // Runs job(pool) on the loop of the pool registered next after the one numbered `from`
    // (Pool::id), if that pool still lives by then; false if there is no other pool.
    bool post_to_another(std::uint64_t from, std::function<void(Pool&)> job);
    // Runs `job` on the loop of the pool numbered `id`, if it is still registered now (its
    // loop then outlives the job's turn there); false if it is gone.
    bool post_to(std::uint64_t id, std::function<void()> job);

private:
    struct Entry {
        Pool* pool;
        std::uint64_t id;
        std::shared_ptr<const bool> alive;  // read on the pool's own loop only
    };
    mutable std::mutex mutex_;
    std::vector<Entry> pools_;
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
    std::uint64_t id() const { return id_; }  // unique in the process, for PoolRegistry
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
    // Its connections, for the hedges of reads held up on a stalled one (hedged_read.hpp).
    const std::vector<std::shared_ptr<Connection>>& connections() const { return conns_; }
    // Whether a connection is stalled (Connection::stalled).
    bool any_stalled() const;
    // Every thread's pools (null without a registry).
    const std::shared_ptr<PoolRegistry>& registry() const { return registry_; }
    void release_exclusive(Connection& conn);
    // Something changed (a connection came up or freed): as many waiters as there is room
    // for, first in line first, look again (at least the first, to learn of a connection
    // that went down).
    void notify();
    // Checks the connections' deadlines and stalls every Tuning::watch_interval while any
    // statement or connection attempt waits (one timer for the pool, not one per
    // statement), and hedges the cheap reads queued on a stalled connection.
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
    std::uint64_t id_;
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
