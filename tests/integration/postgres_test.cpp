// What only PostgreSQL has: adopting the original service's database, and a backend
// that never blocks the event loop.

#include <algorithm>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "api/deps.hpp"
#include "http/route.hpp"
#include "support.hpp"

namespace {

using testing_support::FreshDatabase;

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(ITEMS_FIXTURES_DIR) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class Postgres : public ::testing::Test {
protected:
    void SetUp() override {
        if (!testing_support::have_postgres()) GTEST_SKIP() << "no PostgreSQL: run the suite with ./dev test";
    }

    void migrate(const std::string& url) {
        auto connector = api::open_database(testing_support::settings_for(url));
        boost::asio::io_context ioc;
        auto database = connector->open(ioc);
        db::Migrator migrator(*database, db::migrations_for(db::Dialect::postgres));
        core::run_until_complete(ioc, migrator.up());
    }
};

TEST_F(Postgres, AdoptsTheOriginalsDatabaseWithoutLosingARow) {
    FreshDatabase fresh("postgres");
    fresh.admin_sql(fixture("original_schema.sql"));
    fresh.admin_sql(
        "INSERT INTO users (email, hashed_password, is_active) VALUES "
        "('ann@example.com', '$2b$12$abc', true), ('bob@example.com', '$2b$12$def', NULL);"
        "INSERT INTO items (title, description, owner_id) VALUES ('a', 'first', 1), ('b', NULL, 1), ('c', 'x', 2);");

    migrate(fresh.url());

    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM users"), "2");
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM items"), "3");
    EXPECT_EQ(fresh.admin_value("SELECT string_agg(title || ':' || coalesce(description, '-'), ',' ORDER BY id) FROM items"),
              "a:first,b:-,c:x");
    EXPECT_EQ(fresh.admin_value("SELECT is_active FROM users WHERE email = 'bob@example.com'"), "t");
    EXPECT_EQ(fresh.admin_value("SELECT version_num FROM alembic_version"), "3f1c2a9b7d10");

    EXPECT_EQ(fresh.admin_value("INSERT INTO users (email, hashed_password) VALUES ('cy@example.com', 'x') RETURNING id"), "3")
        << "ids go on from the original's sequence";
    EXPECT_THROW(fresh.admin_sql("INSERT INTO users (email, hashed_password) VALUES ('ANN@Example.com', 'x')"),
                 std::runtime_error)
        << "e-mail must be unique regardless of case";
    fresh.admin_sql("DELETE FROM users WHERE email = 'ann@example.com'");
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM items"), "1") << "items go with their owner";
}

TEST_F(Postgres, AdoptionThatCannotSucceedChangesNothing) {
    FreshDatabase fresh("postgres");
    fresh.admin_sql(fixture("original_schema.sql"));
    fresh.admin_sql("INSERT INTO users (email, hashed_password, is_active) VALUES "
                    "('ann@example.com', 'x', true), ('Ann@example.com', 'y', true);");

    EXPECT_THROW(migrate(fresh.url()), db::DatabaseError);

    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM users"), "2");
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM schema_migrations"), "0");
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_users_email_lower'"), "0");
}

// While every pooled connection is busy in pg_sleep, a request that needs no database
// is answered: nothing on the event loop waits for PostgreSQL.
TEST_F(Postgres, TheEventLoopNeverWaitsForTheDatabase) {
    auto finished = std::make_shared<int>(0);
    FreshDatabase fresh("postgres");
    testing_support::ServiceUnderTest sut(fresh.url(), {{"DB_POOL_SIZE", "2"}});
    auto& database = *static_cast<api::ThreadState*>(sut.client->worker())->database;

    // Both connections up: the server has them idle, and our loop has read that.
    const std::string sessions = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'items-api' "
                                 "AND datname = current_database()";
    for (int i = 0; i < 500 && fresh.admin_value(sessions + " AND state = 'idle'") != "2"; ++i) {
        sut.client->poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(fresh.admin_value(sessions + " AND state = 'idle'"), "2");
    for (int i = 0; i < 10; ++i) {
        sut.client->poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // A transaction takes a connection for itself: two of them occupy both.
    for (int i = 0; i < 2; ++i)
        core::spawn([](db::Database& d) -> core::Task<void> {
            auto tx = co_await d.begin();
            co_await tx->query("SELECT pg_sleep(3)");
        }(database),
                    [finished](std::exception_ptr) { ++*finished; });
    const std::string sleeping = sessions + " AND state = 'active' AND query LIKE 'SELECT pg_sleep%'";
    for (int i = 0; i < 200 && fresh.admin_value(sleeping) != "2"; ++i) {
        sut.client->poll();  // BEGIN's answer, then the sleeps go out
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(fresh.admin_value(sleeping), "2") << "both connections should be sleeping";

    const auto r = sut.client->get("/nope");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(*finished, 0) << "the 404 was answered only after the database work";
    EXPECT_EQ(fresh.admin_value(sleeping), "2");
}

// `backend`: "postgres" (the server's session setting ends it) or "pgbouncer" (no
// session of ours there: the service cancels the statement itself).
void statement_timeout_ends_a_long_statement(const std::string& backend) {
    FreshDatabase fresh(backend);
    db::ConnectorOptions options;
    options.size = 1;
    options.statement_timeout = std::chrono::milliseconds(200);
    options.prepared_statements = backend != "pgbouncer";
    auto connector = db::make_connector(testing_support::settings_for(fresh.url()).database, options);
    boost::asio::io_context ioc;
    auto database = connector->open(ioc);
    try {
        core::run_until_complete(ioc, database->query("SELECT pg_sleep(5)"));
        FAIL() << "the statement outlived its timeout";
    } catch (const db::DatabaseError& e) {
        EXPECT_EQ(e.kind(), db::DatabaseError::Kind::timeout) << e.what();
    }
    EXPECT_EQ(core::run_until_complete(ioc, database->query("SELECT 1")).rows[0].get<std::int64_t>(0), 1);
    // Statements that each stay within the limit, one after another, are not cancelled
    // for the time the connection has been busy with all of them.
    for (int i = 0; i < 4; ++i)
        EXPECT_NO_THROW(core::run_until_complete(ioc, database->query("SELECT pg_sleep(0.1)"))) << i;
}

TEST_F(Postgres, StatementTimeoutEndsALongStatement) { statement_timeout_ends_a_long_statement("postgres"); }

TEST_F(Postgres, StatementTimeoutEndsALongStatementThroughPgBouncer) {
    if (!testing_support::have_pgbouncer()) GTEST_SKIP() << "no PgBouncer: run the suite with ./dev test";
    statement_timeout_ends_a_long_statement("pgbouncer");
}

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
        connector = db::make_connector(testing_support::settings_for(fresh.url()).database, options);
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
TEST_F(Postgres, ABulkReadDoesNotHoldUpTheSmallReadsAfterIt) {
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
TEST_F(Postgres, CheapReadsQueuedBehindAStalledStatementAreAnsweredElsewhere) {
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
TEST_F(Postgres, AReadNewToAStalledConnectionIsJudgedByItsCostOnTheOthers) {
    Connections pool(3);
    ASSERT_TRUE(pool.up()) << "three connections up";
    const auto sleep = db::reads("SELECT pg_sleep($1)");
    const auto cheap = db::reads("SELECT $1::bigint");
    for (int i = 0; i < 20; ++i) pool.read(cheap, {std::int64_t{i}}, "warm-up");  // on the first
    pool.run_until_answered(20);
    pool.done.clear();

    // One loop turn: the first connection full (a long sleep and 31 cheap reads: kSpillDepth),
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
// them (a pool of one here), are answered by another thread's pool, and answered right;
// while every connection of the thread is stalled, a new read goes there at once, even
// one whose cost is not known (it is not run twice).
TEST_F(Postgres, ReadsOfAStalledThreadAreAnsweredByAnotherThreadsPool) {
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

// With its only connection held by a transaction, a request waits DB_POOL_TIMEOUT for
// one and is answered 503, not left hanging; once the connection is free it is served.
TEST_F(Postgres, AFullPoolAnswers503InsteadOfHanging) {
    FreshDatabase fresh("postgres");
    testing_support::ServiceUnderTest sut(fresh.url(), {{"DB_POOL_SIZE", "1"}, {"DB_POOL_TIMEOUT", "0.2"}});
    http::Routes probe;
    probe.get("/probe", {.summary = "Probe"}, [](api::Db db) -> core::Task<http::Response> {
        co_await db->query("SELECT 1");
        co_return http::Response::json(200, "{}");
    });
    sut.service.app().include(probe.take());
    ASSERT_EQ(sut.client->get("/probe").status, 200);

    auto& database = *static_cast<api::ThreadState*>(sut.client->worker())->database;
    std::unique_ptr<db::Transaction> held;
    core::spawn([](db::Database& d, std::unique_ptr<db::Transaction>& out) -> core::Task<void> {
        out = co_await d.begin();
    }(database, held), [](std::exception_ptr) {});
    for (int i = 0; i < 500 && !held; ++i) {
        sut.client->poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(held);

    const auto busy = sut.client->get("/probe");
    EXPECT_EQ(busy.status, 503);
    EXPECT_EQ(busy.body, R"({"detail":"Service Unavailable"})");
    ASSERT_NE(busy.headers.find("retry-after"), nullptr);

    held.reset();  // rolls back and frees the connection
    EXPECT_EQ(sut.client->get("/probe").status, 200);
}

}  // namespace
