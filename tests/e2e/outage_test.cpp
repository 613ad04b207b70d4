// PostgreSQL stops while the service runs, then comes back.

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

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

TEST(PostgresOutage, HealthIs503WhileTheDatabaseIsDownAndTheServiceRecoversWithoutARestart) {
    if (!testing_support::have_postgres() || !std::getenv("ITEMS_TEST_PG_STOP"))
        GTEST_SKIP() << "no PostgreSQL of the test command's: run the suite with ./dev test";
    testing_support::FreshDatabase fresh("postgres");
    e2e::Server server({{"DATABASE_URL", fresh.url()}, {"DB_POOL_TIMEOUT", "1"}});
    ASSERT_EQ(get(server.port(), "/health")->status, 200);

    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_STOP"), 0);
    for (int i = 0; i < 3; ++i) {
        const auto down = get(server.port(), "/health");
        ASSERT_TRUE(down) << "no answer within 5 s while the database is down";
        EXPECT_EQ(down->status, 503);
        EXPECT_EQ(down->body, R"({"status":"unavailable"})");
        EXPECT_EQ(get(server.port(), "/nope")->status, 404);
    }

    ASSERT_EQ(pg_ctl("ITEMS_TEST_PG_START"), 0);
    int status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) {
        std::this_thread::sleep_for(200ms);
        if (auto r = get(server.port(), "/health")) status = r->status;
    }
    EXPECT_EQ(status, 200) << "the service did not reconnect within 20 s";
    EXPECT_TRUE(server.process().wait(0ms) == std::nullopt) << "the service died";
}

}  // namespace
