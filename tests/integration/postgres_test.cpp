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
    // The accounts' columns, with what leaves every user as they were: no superuser, the
    // token version the original's tokens (no "ver" claim) carry.
    EXPECT_EQ(fresh.admin_value("SELECT string_agg(is_superuser::text || ' ' || token_version, ',' ORDER BY id) FROM users"),
              "false 0,false 0");
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM refresh_tokens"), "0");

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
    auto connector = db::make_connector(testing_support::settings_for(fresh.url()).database_url, options);
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
