// /users/me of a user with many items, from a real process over a real socket: streamed
// as HTTP/1.1 chunks, each batch read from the database only when the client has taken
// the one before (back-pressure), and a failure mid-way resets the connection.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;

class Streaming : public ::testing::TestWithParam<std::string> {
  protected:
    Streaming() : fresh(GetParam()) {
        url = GetParam() == "sqlite" ? "sqlite:///" + folder + "/app.db" : fresh.url();
        auto env = fresh.settings();
        env["DATABASE_URL"] = url;
        server = std::make_unique<e2e::Server>(env);
        this->env = env;
        const auto json = std::string("Content-Type: application/json\r\n");
        e2e::exchange(server->port(), "POST", "/auth/register",
                      R"({"email":"big@example.com","password":"secret123"})", json);
        const auto login = e2e::exchange(server->port(), "POST", "/auth/token",
                                         "username=big@example.com&password=secret123",
                                         "Content-Type: application/x-www-form-urlencoded\r\n");
        EXPECT_TRUE(login && login->status == 200) << "no token: every request below is refused";
        if (login && login->status == 200)
            bearer = "Authorization: Bearer " +
                     std::string(boost::json::parse(login->body).at("access_token").as_string()) + "\r\n";
    }
    // `n` items of the user (id 1), ids 1..n: ~66 bytes each in the answer.
    void add_items(int n) {
        e2e::run_sql(url, env,
                     "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < " +
                         std::to_string(n) +
                         ") INSERT INTO items (title, description, owner_id) SELECT 'item ' || n, "
                         "NULL, 1 FROM g");
    }
    std::string me() const { return e2e::request_text("GET", "/users/me", {}, bearer); }

    std::string folder = e2e::temp_folder();
    testing_support::FreshDatabase fresh;
    std::string url;
    std::map<std::string, std::string> env;  // the service's settings
    std::unique_ptr<e2e::Server> server;
    std::string bearer;
};

// 200,000 items (~13 MB). The client reads the first 200 KB, then the items past id
// 100,000 are deleted, then it reads the rest. The service reads a batch only when the
// client has taken the one before: it cannot be further ahead than the sockets' buffers
// (a few MB: well under 100,000 items), so the answer ends at id 100,000, whole and well
// formed. An answer built whole before sending had all 200,000.
TEST_P(Streaming, ASlowReaderGetsAWholeAnswerAndTheServiceReadsOnlyAsFastAsItTakesIt) {
    add_items(200000);
    e2e::SlowClient client(server->port());
    ASSERT_TRUE(client.send(me()));
    while (client.raw.size() < 200 * 1024) {
        ASSERT_TRUE(client.read_until(client.raw.size() + 16 * 1024)) << "the answer ended early";
        std::this_thread::sleep_for(2ms);
    }
    e2e::run_sql(url, env, "DELETE FROM items WHERE id > 100000");
    client.read_all();
    const auto answer = client.parse();
    ASSERT_TRUE(answer.whole) << "no last chunk; reset: " << client.reset;
    EXPECT_TRUE(answer.head.starts_with("HTTP/1.1 200 OK\r\n"));
    EXPECT_NE(answer.head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_EQ(answer.head.find("Content-Length"), std::string::npos);
    const auto doc = boost::json::parse(answer.body);
    EXPECT_EQ(doc.at("email"), "big@example.com");
    const auto& items = doc.at("items").as_array();
    ASSERT_FALSE(items.empty());
    for (std::size_t i = 0; i < items.size(); ++i) {
        ASSERT_EQ(items[i].at("id").as_int64(), std::int64_t(i + 1))
            << "every item up to the last, in order";
        ASSERT_EQ(items[i].at("title"), boost::json::value("item " + std::to_string(i + 1)));
    }
    EXPECT_EQ(items.size(), 100000u)
        << "the items deleted while the client read came after what the service had read";
    // The connection is kept alive for the next request.
    client.raw.clear();
    ASSERT_TRUE(client.send(e2e::request_text("GET", "/health")));
    client.read_until(client.raw.size() + 200);  // the answer: less than 200 bytes
    EXPECT_TRUE(client.raw.starts_with("HTTP/1.1 200 OK\r\n")) << client.raw.substr(0, 200);
}

// The database fails while the answer is on its way: the connection is reset, without the
// last chunk; what came is not a whole JSON document. SQLite: the database file is emptied
// behind the service's back; PostgreSQL: tests/e2e/outage_test.cpp stops the server.
class SqliteStreaming : public Streaming {};

TEST_P(SqliteStreaming, ADatabaseFailureMidWayResetsTheConnectionWithoutTheLastChunk) {
    add_items(200000);
    e2e::SlowClient client(server->port());
    ASSERT_TRUE(client.send(me()));
    ASSERT_TRUE(client.read_until(200 * 1024));
    ASSERT_EQ(::truncate((folder + "/app.db").c_str(), 0), 0);
    ::truncate((folder + "/app.db-wal").c_str(), 0);
    client.read_all();
    const auto answer = client.parse();
    EXPECT_TRUE(client.ended);
    EXPECT_FALSE(answer.whole);
    EXPECT_TRUE(client.reset) << "an orderly close would end an HTTP/1.0 answer as if whole";
    boost::system::error_code ec;
    boost::json::parse(answer.body, ec);
    EXPECT_TRUE(ec) << "what came parses as a whole document";
    EXPECT_NE(
        (server->process().output() + server->process().errors()).find("streamed answer failed"),
        std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, Streaming, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, SqliteStreaming, ::testing::Values("sqlite"),
                         testing_support::backend_name);

}  // namespace
