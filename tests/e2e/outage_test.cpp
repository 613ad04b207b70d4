// PostgreSQL stops while the service runs, then comes back.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;

// Runs one of the test command's pg_ctl commands as the server's owner.
int pg_ctl(const char* variable) {
    const std::string command = std::getenv(variable);
    const std::string line = ::geteuid() == 0 ? "su postgres -s /bin/sh -c \"" + command + "\" >/dev/null 2>&1"
                                              : command + " >/dev/null 2>&1";
    return std::system(line.c_str());
}

std::optional<e2e::RawResponse> get(int port, const std::string& path) {
    e2e::Connection c(port);
    if (!c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")) return std::nullopt;
    return c.read_response(5s);
}

// Whether /health answers 200 within 20 s (the service reconnects after an outage).
bool healthy_within_20s(int port) {
    for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(200ms);
        if (auto r = get(port, "/health"); r && r->status == 200) return true;
    }
    return false;
}

TEST(PostgresOutage, HealthIs503WhileTheDatabaseIsDownAndTheServiceRecoversWithoutARestart) {
    if (!testing_support::have_postgres() || !std::getenv("ITEMS_TEST_PG_STOP"))
        GTEST_SKIP() << "no PostgreSQL of the test command's: run the suite with ./dev test";
    testing_support::FreshDatabase fresh("postgres");
    e2e::Server server({{"DATABASE_URL", fresh.url()}, {"DB_POOL_TIMEOUT", "1"}});
    ASSERT_EQ(e2e::status_of(get(server.port(), "/health")), 200);

    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_STOP"), 0);
    for (int i = 0; i < 3; ++i) {
        const auto down = get(server.port(), "/health");
        ASSERT_TRUE(down) << "no answer within 5 s while the database is down";
        EXPECT_EQ(down->status, 503);
        EXPECT_EQ(down->body, R"({"status":"unavailable"})");
        EXPECT_EQ(e2e::status_of(get(server.port(), "/nope")), 404);
    }

    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_START"), 0);
    EXPECT_TRUE(healthy_within_20s(server.port())) << "the service did not reconnect within 20 s";
    EXPECT_TRUE(server.process().wait(0ms) == std::nullopt) << "the service died";
}

// PostgreSQL stops while /users/me of a user with 200,000 items is on its way (the client
// has read 200 KB and the service waits for it to read on): the connection is reset
// without the last chunk, and what came is not a whole JSON document. (SQLite:
// streaming_test.cpp.)
TEST(PostgresOutage, MidStreamTheAnswerEndsWithAResetNotAWholeLookingDocument) {
    if (!testing_support::have_postgres() || !std::getenv("ITEMS_TEST_PG_STOP"))
        GTEST_SKIP() << "no PostgreSQL of the test command's: run the suite with ./dev test";
    testing_support::FreshDatabase fresh("postgres");
    e2e::Server server({{"DATABASE_URL", fresh.url()}, {"DB_POOL_TIMEOUT", "1"}});
    ASSERT_EQ(e2e::status_of(e2e::exchange(server.port(), "POST", "/auth/register",
                                           R"({"email":"o@example.com","password":"secret123"})",
                                           "Content-Type: application/json\r\n")),
              201);
    const auto login = e2e::exchange(server.port(), "POST", "/auth/token", "username=o@example.com&password=secret123",
                                     "Content-Type: application/x-www-form-urlencoded\r\n");
    ASSERT_TRUE(login && login->status == 200);
    e2e::run_sql(fresh.url(), {},
                 "INSERT INTO items (title, owner_id) SELECT 'item ' || n, 1 FROM generate_series(1, 200000) AS g(n)");
    e2e::SlowClient client(server.port());
    ASSERT_TRUE(client.send(e2e::request_text(
        "GET", "/users/me", {},
        "Authorization: Bearer " + std::string(boost::json::parse(login->body).at("access_token").as_string()) + "\r\n")));
    ASSERT_TRUE(client.read_until(200 * 1024));
    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_STOP"), 0);
    client.read_all();
    const auto answer = client.parse();
    EXPECT_TRUE(client.ended);
    EXPECT_FALSE(answer.whole);
    EXPECT_TRUE(client.reset);
    boost::system::error_code ec;
    boost::json::parse(answer.body, ec);
    EXPECT_TRUE(ec) << "what came parses as a whole document";
    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_START"), 0);
    EXPECT_TRUE(healthy_within_20s(server.port())) << "the service did not reconnect within 20 s";
}

// PostgreSQL stopped and started again while 8 clients write on keep-alive connections:
// every request gets an answer, 201 or a 503 JSON with Retry-After (never a 500, never a
// dropped connection); every write answered 201 is in the database; writes succeed again.
TEST(PostgresOutage, UnderWritersEveryAnswerIs201Or503AndEveryAcknowledgedWriteIsKept) {
    if (!testing_support::have_postgres() || !std::getenv("ITEMS_TEST_PG_STOP"))
        GTEST_SKIP() << "no PostgreSQL of the test command's: run the suite with ./dev test";
    testing_support::FreshDatabase fresh("postgres");
    e2e::Server server({{"DATABASE_URL", fresh.url()}, {"DB_POOL_TIMEOUT", "1"}});
    const auto json = std::string("Content-Type: application/json\r\n");
    ASSERT_EQ(e2e::status_of(e2e::exchange(server.port(), "POST", "/auth/register",
                                           R"({"email":"o@example.com","password":"secret123"})", json)),
              201);
    const auto login = e2e::exchange(server.port(), "POST", "/auth/token", "username=o@example.com&password=secret123",
                                     "Content-Type: application/x-www-form-urlencoded\r\n");
    ASSERT_TRUE(login && login->status == 200);
    const std::string bearer =
        "Authorization: Bearer " + std::string(boost::json::parse(login->body).at("access_token").as_string()) + "\r\n";
    const std::string body = R"({"title":"during an outage"})";
    const std::string request = e2e::request_text("POST", "/items/", body, json + bearer);

    std::mutex mutex;
    std::vector<std::int64_t> acknowledged;
    std::map<int, int> statuses;
    int unanswered = 0, bad_503 = 0;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 8; ++w)
        writers.emplace_back([&] {
            e2e::Connection c(server.port());
            while (!stop) {
                const auto r = c.send(request) ? c.read_response(10s) : std::nullopt;
                std::lock_guard lock(mutex);
                if (!r) {
                    ++unanswered;
                    return;
                }
                ++statuses[r->status];
                if (r->status == 201) {
                    acknowledged.push_back(boost::json::parse(r->body).at("id").as_int64());
                } else if (r->status == 503) {
                    bad_503 += r->body != R"({"detail":"Service Unavailable"})" || !r->headers.count("retry-after");
                    std::this_thread::sleep_for(20ms);  // as a client told Retry-After would, a little
                }
            }
        });
    std::this_thread::sleep_for(1s);
    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_STOP"), 0);
    std::this_thread::sleep_for(1500ms);
    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_START"), 0);
    std::size_t before = 0;
    {
        std::lock_guard lock(mutex);
        before = acknowledged.size();
    }
    for (int i = 0; i < 100; ++i) {  // until writes are acknowledged again, then a little more
        std::this_thread::sleep_for(100ms);
        std::lock_guard lock(mutex);
        if (acknowledged.size() > before + 50) break;
    }
    stop = true;
    for (auto& t : writers) t.join();

    EXPECT_EQ(unanswered, 0);
    EXPECT_EQ(bad_503, 0) << "a 503 without its JSON body or Retry-After";
    for (const auto& [status, n] : statuses) EXPECT_TRUE(status == 201 || status == 503) << status << " x" << n;
    EXPECT_GT(statuses[503], 0) << "the outage was not seen";
    EXPECT_GT(acknowledged.size(), before + 50) << "writes did not succeed again";
    std::stringstream all(fresh.admin_value("SELECT coalesce(string_agg(id::text, ' '), '') FROM items"));
    std::set<std::int64_t> ids;
    for (std::int64_t id; all >> id;) ids.insert(id);
    for (auto id : acknowledged) EXPECT_TRUE(ids.count(id)) << "acknowledged item " << id << " is not in the database";
}

// The service's PostgreSQL server processes stopped (SIGSTOP), not down: connections
// stay open and nothing ever answers on them, so the server's own statement timeout
// cannot fire. The service's deadlines must: /health within HEALTH_TIMEOUT, other
// requests within DB_RESPONSE_TIMEOUT, then the hung connection is replaced by a new
// one (a new server process) and requests succeed again while the old ones still hang.
class StoppedBackends {
public:
    explicit StoppedBackends(const testing_support::FreshDatabase& db) {
        std::stringstream pids(db.admin_value(
            "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'items-api'"));
        for (int pid; pids >> pid;) pids_.push_back(pid);
        for (int pid : pids_) ::kill(pid, SIGSTOP);
    }
    ~StoppedBackends() {
        for (int pid : pids_) ::kill(pid, SIGCONT);
    }
    std::size_t count() const { return pids_.size(); }

private:
    std::vector<int> pids_;
};

TEST(PostgresHang, StoppedServerProcessesGet503InBoundedTimeAndAreReplaced) {
    if (!testing_support::have_postgres()) GTEST_SKIP() << "no PostgreSQL: run the suite with ./dev test";
    testing_support::FreshDatabase fresh("postgres");
    e2e::Server server({{"DATABASE_URL", fresh.url()},
                        {"THREADS", "1"},
                        {"DB_POOL_SIZE", "1"},
                        {"HEALTH_TIMEOUT", "1"},
                        {"DB_RESPONSE_TIMEOUT", "2"}});
    ASSERT_EQ(e2e::status_of(get(server.port(), "/health")), 200);

    StoppedBackends stopped(fresh);
    ASSERT_EQ(stopped.count(), 1u) << "the service's one connection";

    e2e::Connection health(server.port());
    ASSERT_TRUE(health.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n"));
    e2e::Connection write(server.port());
    const std::string user = R"({"email": "hang@example.com", "password": "secret123"})";
    ASSERT_TRUE(write.send("POST /auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(user.size()) + "\r\n\r\n" + user));

    // Without the service's own deadlines both would wait for as long as the server is
    // stopped; generous bounds, for a loaded machine.
    const auto h = health.read_response(5s);
    ASSERT_TRUE(h) << "/health did not answer while the database hangs";
    EXPECT_EQ(h->status, 503);
    EXPECT_EQ(h->body, R"({"status":"unavailable"})");
    const auto w = write.read_response(10s);
    ASSERT_TRUE(w) << "a database request did not answer while the database hangs";
    EXPECT_EQ(w->status, 503);
    EXPECT_EQ(w->body, R"({"detail":"Service Unavailable"})");
    EXPECT_EQ(w->headers.at("retry-after"), "1");

    // The hung connection was given up; a new one serves while the old process is
    // still stopped.
    int status = 0;
    for (int i = 0; i < 50 && status != 200; ++i) {
        if (auto r = get(server.port(), "/health")) status = r->status;
        if (status != 200) std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(status, 200) << "the service did not replace its hung connection";
    e2e::Connection again(server.port());
    ASSERT_TRUE(again.send("POST /auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(user.size()) + "\r\n\r\n" + user));
    const auto created = again.read_response(10s);
    ASSERT_TRUE(created);
    EXPECT_EQ(created->status, 201) << created->body;
}

}  // namespace
