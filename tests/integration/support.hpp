#pragma once
// What the integration tests share: the database backends every database test runs
// on (each test gets a fresh, empty database), and a service with a TestClient.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/service.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "core/run.hpp"
#include "db/migrations.hpp"
#include "http/test_client.hpp"

namespace testing_support {

// Every backend the suite can reach: SQLite always; PostgreSQL when the test command
// has started one (ITEMS_TEST_POSTGRES_URL, the URL of a database we may create others from).
// "pgbouncer" is the same PostgreSQL through a PgBouncer in transaction pooling mode,
// when the test command has started one (ITEMS_TEST_PGBOUNCER_URL).
std::vector<std::string> backends();
bool have_postgres();
bool have_pgbouncer();

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

// A new empty database of `backend` for one test, dropped when the test ends.
class FreshDatabase {
public:
    explicit FreshDatabase(const std::string& backend);
    ~FreshDatabase();
    FreshDatabase(const FreshDatabase&) = delete;
    FreshDatabase& operator=(const FreshDatabase&) = delete;

    const std::string& url() const { return url_; }
    // The settings a service needs to use it: DATABASE_URL, and what its backend asks.
    const std::map<std::string, std::string>& settings() const { return settings_; }
    // Runs SQL on it outside the service (PostgreSQL only): set-up and checks that
    // must not go through the code under test. admin_value returns the first cell.
    void admin_sql(const std::string& sql) const;
    std::string admin_value(const std::string& sql) const;

private:
    std::string url_;
    std::string admin_url_;  // straight to PostgreSQL, not through PgBouncer
    std::string name_;       // PostgreSQL database name, empty for SQLite
    std::map<std::string, std::string> settings_;
};

config::Settings settings_for(const std::string& url, config::Environment extra = {});

// A thread's Database on a fresh database of the test's backend, and its loop.
class DatabaseTest : public ::testing::TestWithParam<std::string> {
protected:
    DatabaseTest()
        : fresh(GetParam()), connector(api::open_database(settings_for(fresh.url()))),
          database(connector->open(ioc)) {}

    template <class T>
    T run(core::Task<T> task) {
        return core::run_until_complete(ioc, std::move(task));
    }
    db::Result sql(std::string_view text, db::Params params = {}) { return run(database->query(text, std::move(params))); }

    FreshDatabase fresh;
    boost::asio::io_context ioc;
    std::unique_ptr<db::Connector> connector;
    std::unique_ptr<db::Database> database;
};

// A migrated service and an in-process client for it.
struct ServiceUnderTest {
    explicit ServiceUnderTest(const std::string& url, config::Environment extra = {});

    config::Settings settings;
    api::Service service;
    std::unique_ptr<http::TestClient> client;
};

}  // namespace testing_support
