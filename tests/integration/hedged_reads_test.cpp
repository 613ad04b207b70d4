// Where a PostgreSQL read goes when backends stall (hedged_read.hpp, stall_policy.hpp), on
// a real PostgreSQL: a read sent to a second place is answered by whichever answers first,
// with its own value; a read known to be costly waits in line; a read of a thread whose
// every connection is stalled goes to another thread's pool first. The loops run by turns
// on the test's thread, and once on two threads of their own, as in the service (the tsan
// preset runs this file under ThreadSanitizer).

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/run.hpp"
#include "db/database.hpp"
#include "support.hpp"

namespace {

using testing_support::FreshDatabase;

class HedgedReads : public ::testing::Test {
protected:
    void SetUp() override {
        if (!testing_support::have_postgres()) GTEST_SKIP() << "no PostgreSQL: run the suite with ./dev test";
    }
};

// `count` connections on each of `threads` loops (one pool each, as a service has per
// thread) on a fresh database, all up; the loops run by turns on this thread. Reads
// spawned on them join `done` in the order they are answered, and a read answering a
// number records it in `numbers`.
struct Connections {
    FreshDatabase fresh{"postgres"};
    std::unique_ptr<db::Connector> connector;
    std::deque<boost::asio::io_context> loops;
    std::vector<std::unique_ptr<db::Database>> databases;
    std::vector<std::string> done;
    std::map<std::string, std::int64_t> numbers;
    std::size_t count;

    explicit Connections(std::size_t count_ = 2, std::size_t threads = 1) : count(count_) {
        db::ConnectorOptions options;
        options.size = count;
        connector = db::make_connector(testing_support::settings_for(fresh.url()).database_url, options);
        for (std::size_t i = 0; i < threads; ++i) databases.push_back(connector->open(loops.emplace_back()));
        for (int i = 0; i < 500 && !up(); ++i) run_turns();
    }
    bool up() const { return connector->stats().open == count * loops.size(); }

    void read(db::Statement statement, db::Params params, std::string name, std::size_t thread = 0) {
        core::spawn([](db::Database& d, db::Statement s, db::Params p, Connections& self,
                       std::string n) -> core::Task<void> {
            const db::Result result = co_await d.query(s, std::move(p));
            if (!result.empty() && std::holds_alternative<std::int64_t>(result.rows[0][0]))
                self.numbers[n] = result.rows[0].get<std::int64_t>(0);
            self.done.push_back(n);
        }(*databases.at(thread), statement, std::move(params), *this, std::move(name)),
                    [](std::exception_ptr e) { ASSERT_FALSE(e); });
    }
    // Each loop for 10 ms (at most), in turn.
    void run_turns() {
        for (auto& loop : loops) {
            loop.restart();
            loop.run_for(std::chrono::milliseconds(10));
        }
    }
    // Runs the loops until `answered` reads in all have been answered (5 s at most).
    void run_until_answered(std::size_t answered) {
        for (int i = 0; i < 500 && done.size() < answered; ++i) run_turns();
    }
};

// A read of many rows (a streamed answer's next batch) goes on a connection of its own:
// a small read sent after it is answered first, not queued behind it in the pipeline.
TEST_F(HedgedReads, ABulkReadDoesNotHoldUpTheSmallReadsAfterIt) {
    Connections pool;
    ASSERT_TRUE(pool.up()) << "both connections up";
    pool.read(db::bulk_reads("SELECT pg_sleep(0.5)"), {}, "bulk");
    pool.read(db::reads("SELECT 1"), {}, "small");
    pool.run_until_answered(2);
    EXPECT_EQ(pool.done, (std::vector<std::string>{"small", "bulk"}));
}

// A statement that runs far longer than it usually does stalls its connection: the cheap
// reads queued behind it are sent again on another connection and answered first; a read
// known to be slow stays in line (running it twice would cost the database its time twice),
// and so does the long one itself.
TEST_F(HedgedReads, CheapReadsQueuedBehindAStalledStatementAreAnsweredElsewhere) {
    Connections pool;
    ASSERT_TRUE(pool.up()) << "both connections up";
    const auto sleep = db::reads("SELECT pg_sleep($1)");
    const auto cheap = db::reads("SELECT $1::bigint");
    // What each usually takes, learned on the first connection (where statements gather):
    // the cheap reads pipelined, the sleeps one after another, 60 ms each.
    for (int i = 0; i < 20; ++i) pool.read(cheap, {std::int64_t{i}}, "cheap warm-up");
    pool.run_until_answered(20);
    for (std::size_t i = 0; i < 3; ++i) {
        pool.read(sleep, {0.06}, "slow warm-up");
        pool.run_until_answered(21 + i);
    }
    ASSERT_EQ(pool.done.size(), 23u);
    pool.done.clear();

    // One loop turn: the long one at the pipeline's front, the others queued behind it.
    pool.read(sleep, {1.0}, "long");
    pool.read(cheap, {std::int64_t{2}}, "cheap 1");
    pool.read(sleep, {0.0}, "slow");  // the sleep statement: its usual time is now tens of ms
    pool.read(cheap, {std::int64_t{3}}, "cheap 2");
    pool.run_until_answered(4);
    EXPECT_EQ(pool.done, (std::vector<std::string>{"cheap 1", "cheap 2", "long", "slow"}));
}

// When several backends stall at once, a read queued on a connection that has not run its
// statement yet (it was idle until the first stalled) is judged by what the statement
// takes on the others: cheap, so it goes to a third connection, not waiting in line.
TEST_F(HedgedReads, AReadNewToAStalledConnectionIsJudgedByItsCostOnTheOthers) {
    Connections pool(3);
    ASSERT_TRUE(pool.up()) << "three connections up";
    const auto sleep = db::reads("SELECT pg_sleep($1)");
    const auto cheap = db::reads("SELECT $1::bigint");
    for (int i = 0; i < 20; ++i) pool.read(cheap, {std::int64_t{i}}, "warm-up");  // on the first
    pool.run_until_answered(20);
    pool.done.clear();

    // One loop turn: the first connection full (a long sleep and 31 cheap reads: Tuning::spill_depth),
    // so the next ones spill to the second: another long sleep, and a cheap read, the
    // statement's first use there.
    pool.read(sleep, {1.0}, "long 1");
    for (int i = 0; i < 31; ++i) pool.read(cheap, {std::int64_t{i}}, "cheap");
    pool.read(sleep, {1.0}, "long 2");
    pool.read(cheap, {std::int64_t{99}}, "new there");
    pool.run_until_answered(34);
    ASSERT_EQ(pool.done.size(), 34u);
    const auto at = [&](const std::string& name) {  // place in the order answered
        return std::find(pool.done.begin(), pool.done.end(), name) - pool.done.begin();
    };
    EXPECT_LT(at("new there"), at("long 1"));
    EXPECT_LT(at("new there"), at("long 2"));
    EXPECT_EQ(std::count(pool.done.begin(), pool.done.begin() + at("long 1"), "cheap"), 31);
}

// A stalled connection's cheap reads, when no other connection of its thread can take
// them (a pool of one here), are hedged to another thread's pool, and answered right;
// while every connection of the thread is stalled, a new read goes there first, even one
// whose cost is not known (sent only there, it is not run twice).
TEST_F(HedgedReads, ReadsOfAStalledThreadAreAnsweredByAnotherThreadsPool) {
    Connections pool(1, 2);  // one connection on each of two loops
    ASSERT_TRUE(pool.up()) << "both loops' connections up";
    const auto sleep = db::reads("SELECT pg_sleep($1)");
    const auto cheap = db::reads("SELECT $1::bigint");
    for (int i = 0; i < 20; ++i) pool.read(cheap, {std::int64_t{i}}, "warm-up");  // on the first loop
    pool.run_until_answered(20);
    pool.done.clear();

    pool.read(sleep, {1.0}, "long");
    pool.read(cheap, {std::int64_t{42}}, "cheap");
    pool.run_until_answered(1);
    pool.read(db::reads("SELECT $1::bigint + 1"), {std::int64_t{6}}, "new");  // never run before
    pool.run_until_answered(3);
    EXPECT_EQ(pool.done, (std::vector<std::string>{"cheap", "new", "long"}));
    EXPECT_EQ(pool.numbers["cheap"], 42);
    EXPECT_EQ(pool.numbers["new"], 7);
}

// The other thread's pool goes away (a shutdown) while a hedge is on its way there: the job
// is dropped, and the reply that says "none" resumes nobody. The read is answered by its
// own connection, with its own value.
TEST_F(HedgedReads, AHedgeWhosePoolIsGoneResumesNobody) {
    Connections pool(1, 2);
    ASSERT_TRUE(pool.up()) << "both loops' connections up";
    const auto sleep = db::reads("SELECT pg_sleep($1)");
    const auto cheap = db::reads("SELECT $1::bigint");
    for (int i = 0; i < 20; ++i) pool.read(cheap, {std::int64_t{i}}, "warm-up");
    pool.run_until_answered(20);
    pool.done.clear();

    pool.read(sleep, {0.3}, "long");
    pool.read(cheap, {std::int64_t{42}}, "cheap");
    // The first loop alone, until its watch has seen the stall and posted the hedge.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < until) {
        pool.loops[0].restart();
        pool.loops[0].run_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(pool.done.empty()) << "answered before the other pool went";
    pool.databases[1].reset();  // its pool, with the hedge posted to its loop not yet run
    pool.run_until_answered(2);
    EXPECT_EQ(pool.done, (std::vector<std::string>{"long", "cheap"}));
    EXPECT_EQ(pool.numbers["cheap"], 42);
}

// Two loops, each on a thread of its own as in the service, one connection each: a read held
// up behind a stalled statement on the first is hedged to the second thread's pool and
// answered there; the reply comes back to the first thread, which alone touches its pool.
TEST_F(HedgedReads, AHedgeToAnotherThreadOnRealThreads) {
    FreshDatabase fresh("postgres");
    db::ConnectorOptions options;
    options.size = 1;
    const auto connector = db::make_connector(testing_support::settings_for(fresh.url()).database_url, options);
    boost::asio::io_context loops[2];
    std::unique_ptr<db::Database> databases[2];
    for (int i = 0; i < 2; ++i) databases[i] = connector->open(loops[i]);
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> done;
    std::map<std::string, std::int64_t> numbers;
    std::vector<std::thread> threads;
    std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> busy;
    for (auto& loop : loops) {
        busy.push_back(boost::asio::make_work_guard(loop));
        threads.emplace_back([&loop] { loop.run(); });
    }
    const auto wait_for = [&](std::size_t answered, const char* what) {
        std::unique_lock lock(mutex);
        EXPECT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return done.size() >= answered; }))
            << "waited 10 s for " << what;
    };
    // A read spawned on loop 0's own thread.
    const auto read = [&](db::Statement statement, db::Params params, std::string name) {
        boost::asio::post(loops[0], [&, statement, params = std::move(params), name = std::move(name)]() mutable {
            core::spawn([](db::Database& d, db::Statement s, db::Params p, std::string n, std::mutex& m,
                           std::condition_variable& c, std::vector<std::string>& out,
                           std::map<std::string, std::int64_t>& values) -> core::Task<void> {
                const db::Result result = co_await d.query(s, std::move(p));
                std::lock_guard lock(m);
                if (!result.empty()) values[n] = result.rows[0].get<std::int64_t>(0);
                out.push_back(n);
                c.notify_all();
            }(*databases[0], statement, std::move(params), name, mutex, changed, done, numbers),
                        [](std::exception_ptr e) { EXPECT_FALSE(e); });
        });
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (connector->stats().open < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(connector->stats().open, 2u) << "both loops' connections up within 10 s";

    const auto cheap = db::reads("SELECT $1::bigint");
    for (int i = 0; i < 20; ++i) read(cheap, {std::int64_t{i}}, "warm-up");
    wait_for(20, "the warm-up");
    {
        std::lock_guard lock(mutex);
        done.clear();
    }
    read(db::reads("SELECT count(*) FROM pg_sleep($1)"), {1.0}, "long");
    read(cheap, {std::int64_t{42}}, "cheap");
    wait_for(2, "both reads");
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(done, (std::vector<std::string>{"cheap", "long"}));
        EXPECT_EQ(numbers["cheap"], 42);
    }
    // Each pool closed on its own thread, then the loops end.
    for (int i = 0; i < 2; ++i) boost::asio::post(loops[i], [&databases, i] { databases[i].reset(); });
    busy.clear();
    for (auto& t : threads) t.join();
}

}  // namespace
