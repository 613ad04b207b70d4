#include "db/sqlite/writer.hpp"

#include <pthread.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace db::sqlite {

struct Writer::Job {
    std::function<Result(Connection&)> work;
    std::uint64_t session = 0;
    bool begins = false;  // opens `session`
    bool ends = false;    // closes it, whatever its outcome
    Result result;
    std::exception_ptr error;
    std::shared_ptr<Home> home;  // null: nobody waits (an abandoned transaction's rollback)
    std::coroutine_handle<> waiter;
};

namespace {

// Ends the open transaction, if SQLite has not already ended it itself (after certain
// errors it does, and ROLLBACK then fails): either way none is open afterwards.
void rollback_quietly(Connection& c) {
    try {
        c.exec("ROLLBACK");
    } catch (const std::exception&) {
    }
}

std::shared_ptr<Writer::Job> make_job(std::function<Result(Connection&)> work, std::uint64_t session,
                                      std::shared_ptr<Home> home) {
    auto job = std::make_shared<Writer::Job>();
    job->work = std::move(work);
    job->session = session;
    job->home = std::move(home);
    return job;
}

}  // namespace

void Home::resume(std::coroutine_handle<> waiter) {
    std::lock_guard lock(mutex_);
    if (ioc_) boost::asio::post(*ioc_, [waiter] { waiter.resume(); });
}

void Home::forget() {
    std::lock_guard lock(mutex_);
    ioc_ = nullptr;
}

Writer::Writer(const std::string& path, std::string thread_name)
    : conn_(path), thread_([this, name = std::move(thread_name)] {
          pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
          loop();
      }) {}

Writer::~Writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

core::Task<Result> Writer::run(std::shared_ptr<Home> home, std::function<Result(Connection&)> work,
                               std::uint64_t session) {
    co_return co_await submit(make_job(std::move(work), session, std::move(home)));
}

core::Task<void> Writer::begin(std::shared_ptr<Home> home, std::uint64_t session) {
    // IMMEDIATE takes the write lock now: another process writing meanwhile makes this
    // wait (the busy timeout), never fail later on upgrading a read lock.
    auto job = make_job(
        [](Connection& c) {
            c.exec("BEGIN IMMEDIATE");
            return Result{};
        },
        session, std::move(home));
    job->begins = true;
    co_await submit(std::move(job));
}

core::Task<void> Writer::end(std::shared_ptr<Home> home, std::uint64_t session, bool commit) {
    auto job = make_job(
        [commit](Connection& c) {
            if (!commit) {
                c.exec("ROLLBACK");
                return Result{};
            }
            try {
                c.exec("COMMIT");
            } catch (...) {
                rollback_quietly(c);  // the session ends either way: never leave the writer inside it
                throw;
            }
            return Result{};
        },
        session, std::move(home));
    job->ends = true;
    co_await submit(std::move(job));
}

void Writer::abandon(std::uint64_t session) {
    auto job = make_job(
        [](Connection& c) {
            rollback_quietly(c);
            return Result{};
        },
        session, nullptr);
    job->ends = true;
    enqueue(std::move(job));
}

core::Task<Result> Writer::submit(std::shared_ptr<Job> job) {
    // Trivially destructible (a reference to the job, not a copy of its shared_ptr): g++ 12
    // mishandles the destruction of a temporary awaiter that has a destructor.
    struct Queued {
        Writer& writer;
        const std::shared_ptr<Job>& job;
        bool await_ready() const noexcept { return false; }
        // Enqueued only once suspended: the resumption is posted to this very loop,
        // so it cannot run before await_suspend returns.
        void await_suspend(std::coroutine_handle<> h) {
            job->waiter = h;
            writer.enqueue(job);
        }
        void await_resume() const noexcept {}
    };
    co_await Queued{*this, job};
    if (job->error) std::rethrow_exception(job->error);
    co_return std::move(job->result);
}

Writer::Stats Writer::stats() const {
    std::lock_guard lock(mutex_);
    return Stats{running_ || open_session_ != 0, queue_.size()};
}

void Writer::enqueue(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void Writer::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        // The oldest job that may run now: any, or the open transaction's own.
        auto next = queue_.end();
        wake_.wait(lock, [&] {
            next = queue_.begin();
            if (open_session_ != 0) {
                while (next != queue_.end() && (*next)->session != open_session_) ++next;
            }
            return next != queue_.end() || stopping_;
        });
        if (next == queue_.end()) {
            if (queue_.empty()) return;  // stopping, and everything done
            // Stopping while a transaction waits for statements that will never come (its
            // loop is gone): roll it back so that the rest can run.
            rollback_quietly(conn_);
            open_session_ = 0;
            continue;
        }
        auto job = std::move(*next);
        queue_.erase(next);
        if (job->begins) open_session_ = job->session;
        running_ = true;
        lock.unlock();
        try {
            job->result = job->work(conn_);
        } catch (...) {
            job->error = std::current_exception();
        }
        lock.lock();
        running_ = false;
        if (job->ends || (job->begins && job->error)) open_session_ = 0;
        if (job->home) job->home->resume(job->waiter);
    }
}

}  // namespace db::sqlite
