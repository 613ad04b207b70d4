#include "support.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

namespace testing_support {

namespace {
const char* postgres_admin_url() {
    const char* url = std::getenv("ITEMS_TEST_POSTGRES_URL");
    return url && *url ? url : nullptr;
}

// A PgBouncer in transaction pooling mode in front of that server, if the test command
// started one: any database name is passed through to the server.
const char* pgbouncer_url() {
    const char* url = std::getenv("ITEMS_TEST_PGBOUNCER_URL");
    return url && *url && postgres_admin_url() ? url : nullptr;
}

std::string run_admin(const std::string& conninfo, const std::string& sql) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string why = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("cannot connect to the test PostgreSQL: " + why);
    }
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);  // "does not exist, skipping" and the like
    PGresult* r = PQexec(conn, sql.c_str());
    const auto status = PQresultStatus(r);
    std::string why = PQresultErrorMessage(r);
    std::string first = status == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    PQfinish(conn);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + why);
    return first;
}

// The admin URL with its database name replaced.
std::string with_database(std::string url, const std::string& name) {
    const auto slash = url.rfind('/');
    const auto query = url.find('?', slash);
    return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}
}  // namespace

bool have_postgres() { return postgres_admin_url() != nullptr; }

std::vector<std::string> backends() {
    std::vector<std::string> out{"sqlite"};
    if (postgres_admin_url()) out.emplace_back("postgres");
    if (pgbouncer_url()) out.emplace_back("pgbouncer");
    return out;
}

bool have_pgbouncer() { return pgbouncer_url() != nullptr; }

FreshDatabase::FreshDatabase(const std::string& backend) {
    if (backend == "sqlite") {
        url_ = "sqlite:///:memory:";
        settings_.emplace("DATABASE_URL", url_);
        return;
    }
    static std::atomic<int> counter{0};
    name_ = "items_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    run_admin(postgres_admin_url(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    run_admin(postgres_admin_url(), "CREATE DATABASE " + name_);
    admin_url_ = with_database(postgres_admin_url(), name_);
    if (backend == "pgbouncer") {
        if (!pgbouncer_url()) throw std::logic_error("no PgBouncer: run the suite with ./dev test");
        url_ = with_database(pgbouncer_url(), name_);
        // Transaction pooling keeps no prepared statement nor session setting.
        settings_.emplace("DB_PREPARED_STATEMENTS", "false");
    } else {
        url_ = admin_url_;
    }
    settings_.emplace("DATABASE_URL", url_);
}

FreshDatabase::~FreshDatabase() {
    if (name_.empty()) return;
    try {
        run_admin(postgres_admin_url(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
    }
}

void FreshDatabase::admin_sql(const std::string& sql) const {
    if (name_.empty()) throw std::logic_error("admin_sql is for PostgreSQL");
    run_admin(admin_url_, sql);
}

std::string FreshDatabase::admin_value(const std::string& sql) const {
    if (name_.empty()) throw std::logic_error("admin_value is for PostgreSQL");
    return run_admin(admin_url_, sql);
}

config::Settings settings_for(const std::string& url, config::Environment extra) {
    core::log::configure(core::log::Level::critical, core::log::Format::text);
    extra.insert_or_assign("DATABASE_URL", url);
    // Through the test PgBouncer (transaction pooling), as its users must run.
    const char* bouncer = pgbouncer_url();
    if (bouncer && url.starts_with(with_database(bouncer, ""))) extra.emplace("DB_PREPARED_STATEMENTS", "false");
    return config::load_settings(extra);
}

ServiceUnderTest::ServiceUnderTest(const std::string& url, config::Environment extra)
    : settings(settings_for(url, std::move(extra))), service(settings) {
    {
        boost::asio::io_context ioc;
        auto database = service.connector().open(ioc);
        db::Migrator migrator(*database, db::migrations_for(service.connector().dialect()));
        core::run_until_complete(ioc, migrator.up());
    }
    client = std::make_unique<http::TestClient>(service.app(), service.worker_init());
}

}  // namespace testing_support
