#pragma once
// SQLite's writes have one owner: a thread of their own with the process's only write
// connection. SQLite lets one writer at a time hold the file's lock; when event loops
// wrote on their own connections, a loop waiting for another's lock (up to the busy
// timeout) stopped every connection it served. Now a loop hands a write to this thread
// and serves others until the answer is posted back; reads stay on the loop's own
// connection (WAL: readers never wait for the writer).
//
// A transaction is a session: from its BEGIN IMMEDIATE to its end, the thread runs only
// that session's statements; the others' writes wait in the queue, not in a loop.

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/task.hpp"
#include "db/database.hpp"
#include "db/sqlite/connection.hpp"

namespace boost::asio {
class io_context;
}

namespace db::sqlite {

// Where a finished job resumes its caller: a loop, for as long as its database lives.
class Home {
public:
    explicit Home(boost::asio::io_context& ioc) : ioc_(&ioc) {}
    // Resumes `waiter` on the loop, unless the loop's database is gone.
    void resume(std::coroutine_handle<> waiter);
    void forget();

private:
    std::mutex mutex_;
    boost::asio::io_context* ioc_;
};

class Writer {
public:
    // Opens the write connection (throws DatabaseError if it cannot be opened).
    Writer(const std::string& path, std::string thread_name);
    // Runs what is queued, then stops.
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Runs `work` on the writer's connection; the caller resumes on `home`'s loop.
    // `session`: 0 for a statement on its own, else the transaction it belongs to.
    struct Job;
    core::Task<Result> run(std::shared_ptr<Home> home, std::function<Result(Connection&)> work,
                           std::uint64_t session = 0);

    // A transaction: begin() waits for BEGIN IMMEDIATE; end() runs its COMMIT or ROLLBACK
    // and closes the session (also when that fails: the transaction is then rolled back);
    // abandon() rolls back without waiting.
    std::uint64_t new_session() { return ++sessions_; }
    core::Task<void> begin(std::shared_ptr<Home> home, std::uint64_t session);
    core::Task<void> end(std::shared_ptr<Home> home, std::uint64_t session, bool commit);
    void abandon(std::uint64_t session);

    // For metrics: whether a job (or a transaction) holds the connection, and how many wait.
    struct Stats {
        bool busy = false;
        std::size_t queued = 0;
    };
    Stats stats() const;

private:
    core::Task<Result> submit(std::shared_ptr<Job> job);
    void enqueue(std::shared_ptr<Job> job);
    void loop();

    Connection conn_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::uint64_t open_session_ = 0;  // the transaction being run; 0: none
    bool running_ = false;            // a job is running (outside the lock)
    bool stopping_ = false;
    std::atomic<std::uint64_t> sessions_{0};
    std::thread thread_;  // last: starts once the rest is made
};

}  // namespace db::sqlite
