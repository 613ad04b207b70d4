// SQLite's writes have one owner (db/sqlite/writer.hpp): a loop whose write waits for
// another's transaction keeps serving, and the write is done, not refused, once the
// lock is free. Two loops of one process, on the test's thread, by turns.

#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>

#include "core/run.hpp"
#include "support.hpp"

namespace {

using testing_support::FreshDatabase;

struct Outcome {
    bool done = false;
    std::optional<db::Result> result;
    std::exception_ptr error;
};

// Starts `task` on its loop; `out` says when and how it ended.
void start(core::Task<db::Result> task, Outcome& out) {
    core::spawn(
        [](core::Task<db::Result> t, Outcome& o) -> core::Task<void> {
            o.result = co_await std::move(t);
            o.done = true;
        }(std::move(task), out),
        [&out](std::exception_ptr e) {
            if (e) {
                out.error = e;
                out.done = true;
            }
        });
}

// Runs the loop's ready handlers until `until` holds (a bounded number of turns).
template <class Until>
void turn(boost::asio::io_context& ioc, Until until) {
    for (int i = 0; i < 2000 && !until(); ++i) {
        ioc.restart();
        ioc.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

TEST(SqliteWriter, ALoopWhoseWriteWaitsForAnotherTransactionServesOnAndTheWriteIsDone) {
    FreshDatabase fresh("sqlite");
    const auto connector = db::make_connector(testing_support::settings_for(fresh.url()).database_url);
    boost::asio::io_context a, b;
    auto db_a = connector->open(a);
    auto db_b = connector->open(b);
    core::run_until_complete(a, db_a->execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY)"));

    // Loop a holds the write lock in a transaction, and keeps it across turns.
    auto tx = core::run_until_complete(a, db_a->begin());
    core::run_until_complete(a, tx->query("INSERT INTO t (id) VALUES (1)"));

    // Loop b: a write (waits for a's transaction), then a read (does not).
    Outcome write, read;
    start(db_b->query("INSERT INTO t (id) VALUES (2)"), write);
    start(db_b->query(db::reads("SELECT COUNT(*) FROM t")), read);
    turn(b, [&] { return read.done; });
    ASSERT_TRUE(read.done);
    ASSERT_FALSE(read.error);
    EXPECT_EQ(read.result->rows.at(0).get<std::int64_t>(0), 0);  // a's row is not committed yet
    EXPECT_FALSE(write.done) << "the write did not wait for the open transaction";

    core::run_until_complete(a, tx->commit());
    turn(b, [&] { return write.done; });
    ASSERT_TRUE(write.done);
    EXPECT_FALSE(write.error) << "the write was refused instead of waiting its turn";
    Outcome count;
    start(db_b->query(db::reads("SELECT COUNT(*) FROM t")), count);
    turn(b, [&] { return count.done; });
    ASSERT_TRUE(count.result);
    EXPECT_EQ(count.result->rows.at(0).get<std::int64_t>(0), 2);
}

TEST(SqliteWriter, ALoopThatGoesAwayWithATransactionOpenLeavesTheWriterUsable) {
    FreshDatabase fresh("sqlite");
    const auto connector = db::make_connector(testing_support::settings_for(fresh.url()).database_url);
    boost::asio::io_context b;
    auto db_b = connector->open(b);
    core::run_until_complete(b, db_b->execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY)"));
    {
        boost::asio::io_context a;
        auto db_a = connector->open(a);
        auto tx = core::run_until_complete(a, db_a->begin());
        core::run_until_complete(a, tx->query("INSERT INTO t (id) VALUES (1)"));
    }  // the transaction and its loop are gone: rolled back
    core::run_until_complete(b, db_b->query("INSERT INTO t (id) VALUES (2)"));
    const auto r = core::run_until_complete(b, db_b->query(db::reads("SELECT id FROM t")));
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].get<std::int64_t>(0), 2);
}

}  // namespace
