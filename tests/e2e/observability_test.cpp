// What operators see of a real process: /metrics as Prometheus reads it (checked by Debian's
// promtool), on the API's port or its own, and logs that never carry a secret.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "../integration/api_support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using e2e::Connection;

// One request on a connection of its own; the answer (status 0 if there was none).
e2e::RawResponse exchange(int port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const std::string& headers = {}) {
    return e2e::exchange(port, method, target, body, headers, std::chrono::seconds(5)).value_or(e2e::RawResponse{});
}

const std::string kJson = "Content-Type: application/json\r\n";
const std::string kForm = "Content-Type: application/x-www-form-urlencoded\r\n";

// `promtool check metrics` on `text`: its exit code and what it said.
std::pair<int, std::string> promtool_check(const std::string& text) {
    const std::string folder = e2e::temp_folder();
    std::ofstream(folder + "/metrics.txt") << text;
    const std::string command =
        "promtool check metrics < " + folder + "/metrics.txt > " + folder + "/promtool.out 2>&1";
    const int status = std::system(command.c_str());
    std::stringstream said;
    said << std::ifstream(folder + "/promtool.out").rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, said.str()};
}

using e2e::free_port;

// The value of one sample ("name{labels}") in an exposition; -1 if absent.
double sample(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
}

// A service on each backend, with the original's bcrypt user in its database.
class Observed : public ::testing::TestWithParam<std::string> {
  protected:
    explicit Observed(std::map<std::string, std::string> env = {}) {
        const auto fixture = testing_support::compat_fixture();
        secret_key = std::string(fixture.at("secret_key").as_string());
        legacy_email = std::string(fixture.at("bcrypt_user").at("email").as_string());
        legacy_password = std::string(fixture.at("bcrypt_user").at("password").as_string());
        const std::string legacy_hash(fixture.at("bcrypt_user").at("hashed_password").as_string());

        env.emplace("SECRET_KEY", secret_key);
        env.emplace("LOG_LEVEL", "debug");
        if (GetParam() != "sqlite") {
            postgres = std::make_unique<testing_support::FreshDatabase>(GetParam());
            env.insert(postgres->settings().begin(), postgres->settings().end());
        } else {
            sqlite_path = e2e::temp_folder() + "/app.db";
            env.emplace("DATABASE_URL", "sqlite:///" + sqlite_path);
        }
        server = std::make_unique<e2e::Server>(env);
        const std::string insert = "INSERT INTO users (email, hashed_password) VALUES ('" +
                                   legacy_email + "', '" + legacy_hash +
                                   "')";  // fixture text, no quotes in it
        if (postgres) {
            postgres->admin_sql(insert);
        } else {
            sqlite3* db = nullptr;
            EXPECT_EQ(sqlite3_open(sqlite_path.c_str(), &db), SQLITE_OK);
            sqlite3_busy_timeout(db, 5000);
            EXPECT_EQ(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
                << sqlite3_errmsg(db);
            sqlite3_close(db);
        }
    }

    int port() const { return server->port(); }

    // Registers `email` and logs in: its "Authorization: Bearer …" header line.
    std::string bearer_of(const std::string& email) {
        const auto registered =
            exchange(port(), "POST", "/auth/register", R"({"email":")" + email + R"(","password":"secret123"})", kJson);
        EXPECT_EQ(registered.status, 201);
        const auto login = exchange(port(), "POST", "/auth/token", "username=" + email + "&password=secret123", kForm);
        EXPECT_EQ(login.status, 200);
        if (login.status != 200) return {};
        return "Authorization: Bearer " + std::string(boost::json::parse(login.body).at("access_token").as_string()) +
               "\r\n";
    }

    // The number of items in the database, read beside the service.
    std::int64_t items_in_database() const {
        if (postgres) return std::stoll(postgres->admin_value("SELECT count(*) FROM items"));
        sqlite3* db = nullptr;
        std::int64_t n = -1;
        if (sqlite3_open(sqlite_path.c_str(), &db) == SQLITE_OK) {
            sqlite3_stmt* st = nullptr;
            if (sqlite3_prepare_v2(db, "SELECT count(*) FROM items", -1, &st, nullptr) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
        return n;
    }

    std::unique_ptr<testing_support::FreshDatabase> postgres;
    std::string sqlite_path;
    std::unique_ptr<e2e::Server> server;
    std::string secret_key, legacy_email, legacy_password;
};

TEST_P(Observed, AScrapePassesPromtoolAndCountsWhatWasServed) {
    EXPECT_EQ(exchange(port(), "POST", "/auth/register",
                       R"({"email":"m@example.com","password":"secret123"})", kJson)
                  .status,
              201);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(exchange(port(), "GET", "/health").status, 200);
    EXPECT_EQ(exchange(port(), "GET", "/users/7").status, 401);
    EXPECT_EQ(exchange(port(), "GET", "/no/such/path").status, 404);

    const auto r = exchange(port(), "GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const auto [code, said] = promtool_check(r.body);
    EXPECT_EQ(code, 0) << "promtool check metrics: " << said << "\n" << r.body;
    EXPECT_EQ(said, "");  // not even a lint warning

    const std::string text = "\n" + r.body;
    EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="/health",status="200"})"), 3);
    EXPECT_EQ(
        sample(text, R"(http_requests_total{method="POST",route="/auth/register",status="201"})"),
        1);
    EXPECT_EQ(
        sample(text, R"(http_requests_total{method="GET",route="/users/{user_id}",status="401"})"),
        1);
    EXPECT_EQ(sample(text, R"(http_requests_total{method="GET",route="unmatched",status="404"})"),
              1);
    EXPECT_EQ(sample(text, "items_api_password_hash_duration_seconds_count"), 1);
    EXPECT_EQ(sample(text, "http_requests_in_flight"), 1);
    EXPECT_EQ(text.find("/users/7"), std::string::npos);
    EXPECT_EQ(text.find("/no/such/path"), std::string::npos);
    // Every thread's pool (THREADS=2): PostgreSQL's, or SQLite's writer.
    const double idle = sample(text, R"(items_api_db_connections{state="idle"})");
    const double in_use = sample(text, R"(items_api_db_connections{state="in_use"})");
    EXPECT_GE(idle, 1);
    EXPECT_GE(in_use, 0);
    EXPECT_LE(idle + in_use, GetParam() == "sqlite" ? 1 : 2 * 4);
}

// LOG_LEVEL=debug, every flow of the API, failures included: no password, hash, token or
// SECRET_KEY anywhere in what the process wrote, while its request lines are there.
TEST_P(Observed, NoSecretInTheLogsOfAFullRun) {
    const std::string password = "correct-horse-battery-91";
    const std::string wrong = "Tr0ub4dor&3-not-it";
    const std::string wrong_form = "Tr0ub4dor%263-not-it";
    const auto registered =
        exchange(port(), "POST", "/auth/register",
                 R"({"email":"s@example.com","password":")" + password + R"("})", kJson);
    ASSERT_EQ(registered.status, 201) << registered.body;
    EXPECT_EQ(exchange(port(), "POST", "/auth/register",
                       R"({"email":"s@example.com","password":"x"})", kJson)
                  .status,
              422);
    EXPECT_EQ(exchange(port(), "POST", "/auth/token",
                       "username=s@example.com&password=" + wrong_form, kForm)
                  .status,
              401);
    const auto login = exchange(port(), "POST", "/auth/token",
                                "username=s@example.com&password=" + password, kForm);
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string token(boost::json::parse(login.body).at("access_token").as_string());
    const std::string bearer = "Authorization: Bearer " + token + "\r\n";
    // The original's bcrypt hash: verified, then replaced by an argon2id one.
    const auto legacy =
        exchange(port(), "POST", "/auth/token",
                 "username=" + legacy_email + "&password=" + legacy_password, kForm);
    ASSERT_EQ(legacy.status, 200) << legacy.body;
    const std::string legacy_token(boost::json::parse(legacy.body).at("access_token").as_string());

    EXPECT_EQ(
        exchange(port(), "POST", "/items/", R"({"title":"a","description":"b"})", kJson + bearer)
            .status,
        201);
    EXPECT_EQ(exchange(port(), "GET", "/users/me", {}, bearer).status, 200);
    EXPECT_EQ(exchange(port(), "GET", "/items/?skip=0&limit=5", {}, bearer).status, 200);
    EXPECT_EQ(exchange(port(), "PATCH", "/items/1", R"({"title":"c"})", kJson + bearer).status,
              200);
    EXPECT_EQ(exchange(port(), "DELETE", "/items/1", {}, bearer).status, 204);
    EXPECT_EQ(exchange(port(), "GET", "/items/1", {}, bearer).status, 404);
    // A token signed with another key, one with its signature cut, a malformed header.
    EXPECT_EQ(exchange(port(), "GET", "/users/me", {},
                       "Authorization: Bearer " + token.substr(0, token.rfind('.')) + ".AAAA\r\n")
                  .status,
              401);
    EXPECT_EQ(exchange(port(), "GET", "/users/me", {}, "Authorization: Basic " + password + "\r\n")
                  .status,
              401);
    EXPECT_EQ(exchange(port(), "DELETE", "/users/me", {},
                       "Authorization: Bearer " + legacy_token + "\r\n")
                  .status,
              204);
    EXPECT_EQ(
        exchange(port(), "GET", "/users/me", {}, "Authorization: Bearer " + legacy_token + "\r\n")
            .status,
        401);

    server->process().signal(SIGTERM);
    ASSERT_EQ(server->process().wait(20s), 0);
    const std::string logs = server->process().output() + server->process().errors();

    std::size_t request_lines = 0;
    for (std::size_t at = logs.find("\"msg\":\"request\""); at != std::string::npos;
         at = logs.find("\"msg\":\"request\"", at + 1))
        ++request_lines;
    EXPECT_GE(request_lines, 14u) << logs;  // the test reads what was written

    const std::string signature = token.substr(token.rfind('.') + 1);
    for (const std::string& secret :
         {password, wrong, wrong_form, legacy_password, secret_key, token, signature, legacy_token,
          std::string("$argon2id$"), std::string("$2b$"), std::string("Bearer ey")})
        EXPECT_EQ(logs.find(secret), std::string::npos) << "the logs carry " << secret << ":\n"
                                                        << logs;
}

// SIGTERM while 8 clients keep writing on keep-alive connections: every request sent gets
// its whole answer (the drain answers what arrives on open connections, the last with
// Connection: close), every write answered 201 is in the database, and no other; exit 0.
TEST_P(Observed, SigtermUnderLoadLosesNoRequestAndNoAcknowledgedWrite) {
    const std::string bearer = bearer_of("w@example.com");
    ASSERT_FALSE(bearer.empty());
    const std::string body = R"({"title":"under load"})";
    const std::string request = e2e::request_text("POST", "/items/", body, kJson + bearer);

    std::atomic<int> acknowledged{0}, unanswered{0}, other{0}, closes{0}, never_closed{0};
    std::vector<std::thread> writers;
    // Each writer stops when its connection's answer says Connection: close (a new connection
    // is not an in-flight request: the draining server refuses it), or at its deadline.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (int w = 0; w < 8; ++w)
        writers.emplace_back([&] {
            Connection c(port());
            for (;;) {
                if (std::chrono::steady_clock::now() > deadline) {
                    ++never_closed;
                    return;
                }
                if (!c.send(request)) {
                    ++unanswered;
                    return;
                }
                const auto r = c.read_response(10s);
                if (!r) {
                    ++unanswered;
                    return;
                }
                if (r->status == 201)
                    ++acknowledged;
                else
                    ++other;
                if (r->headers.count("connection") && r->headers.at("connection") == "close") {
                    ++closes;
                    return;
                }
            }
        });
    const auto loaded_by = std::chrono::steady_clock::now() + 30s;
    while (acknowledged < 300 && unanswered == 0 && std::chrono::steady_clock::now() < loaded_by)
        std::this_thread::sleep_for(5ms);
    EXPECT_GE(acknowledged, 300) << "300 writes were not acknowledged within 30 s, before SIGTERM";
    server->process().signal(SIGTERM);
    for (auto& t : writers) t.join();
    EXPECT_EQ(server->process().wait(20s), 0);
    EXPECT_EQ(never_closed, 0) << "connections still served 60 s after SIGTERM";
    EXPECT_EQ(unanswered, 0) << "requests sent on open connections went unanswered";
    EXPECT_EQ(other, 0) << "answers other than 201";
    EXPECT_EQ(closes, 8) << "each connection ends with an answer that says Connection: close";
    EXPECT_EQ(items_in_database(), acknowledged.load());
}

// 32 clients on keep-alive connections for 2 seconds, reading and writing: every answer is
// the one to its own request (`/users/me` is streamed once the user has over 1,000 items).
// Through PgBouncer, two Syncs in flight on one connection gave statements other
// statements' answers (500s, "unexpected type"): see db::postgres::Connection::wait_to_send.
TEST_P(Observed, ConcurrentReadsAndWritesEachGetTheirOwnAnswer) {
    const std::string bearer = bearer_of("c@example.com");
    ASSERT_FALSE(bearer.empty());
    const std::string body = R"({"title":"mine"})";
    const std::string create = e2e::request_text("POST", "/items/", body, kJson + bearer);
    Connection first(port());
    ASSERT_TRUE(first.send(create));
    const auto created = first.read_response(10s);
    ASSERT_TRUE(created && created->status == 201);
    const auto id = boost::json::parse(created->body).at("id").as_int64();
    const std::string get_item = e2e::request_text("GET", "/items/" + std::to_string(id), {}, bearer);
    const std::string get_me = e2e::request_text("GET", "/users/me", {}, bearer);

    std::atomic<int> right{0}, wrong{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int w = 0; w < 32; ++w)  // more than the connections of the pools: they queue statements
        clients.emplace_back([&] {
            Connection c(port());
            for (int n = 0; !stop; ++n) {
                const int kind = n % 3;
                if (!c.send(kind == 0 ? get_item : kind == 1 ? get_me : create)) return void(++wrong);
                const auto r = c.read_response(10s);
                if (!r) return void(++wrong);
                bool ok = false;
                if (kind == 0)
                    ok = r->status == 200 && r->body.find("\"id\":" + std::to_string(id) + ",") != std::string::npos;
                else if (kind == 1)
                    ok = r->status == 200 && r->body.find("\"email\":\"c@example.com\"") != std::string::npos;
                else
                    ok = r->status == 201 && r->body.find("\"title\":\"mine\"") != std::string::npos;
                ++(ok ? right : wrong);
            }
        });
    std::this_thread::sleep_for(2s);
    stop = true;
    for (auto& t : clients) t.join();
    EXPECT_EQ(wrong, 0) << "of " << right + wrong << " requests";
    EXPECT_GT(right, 100);
}

INSTANTIATE_TEST_SUITE_P(Backends, Observed, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

// METRICS_PORT: /metrics there only; the API's port answers 404 for it; SIGTERM stops both.
TEST(MetricsPort, ServesTheMetricsApartFromTheApi) {
    const int metrics_port = free_port();
    e2e::Server server({{"METRICS_PORT", std::to_string(metrics_port)}});
    ASSERT_TRUE(server.process().wait_for_output("\"msg\":\"metrics listening\"", 10s))
        << server.process().output();
    EXPECT_EQ(exchange(server.port(), "GET", "/health").status, 200);
    EXPECT_EQ(exchange(server.port(), "GET", "/metrics").status, 404);
    const auto r = exchange(metrics_port, "GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(
        sample("\n" + r.body, R"(http_requests_total{method="GET",route="/health",status="200"})"),
        1);
    EXPECT_EQ(promtool_check(r.body).first, 0) << promtool_check(r.body).second;
    EXPECT_EQ(exchange(metrics_port, "GET", "/health").status, 404);
    server.process().signal(SIGTERM);
    EXPECT_EQ(server.process().wait(20s), 0);
}

TEST(MetricsPort, APortAlreadyTakenStopsTheServiceNamingTheSetting) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string taken = std::to_string(ntohs(addr.sin_port));
    const std::string folder = e2e::temp_folder();
    e2e::Process p({ITEMS_API_BINARY, "serve"},
                   {{"PORT", "0"}, {"METRICS_PORT", taken}, {"DATABASE_URL", "sqlite:///:memory:"}},
                   folder);
    EXPECT_EQ(p.wait(20s), 2);
    EXPECT_NE(p.errors().find("METRICS_PORT"), std::string::npos) << p.errors();
    ::close(fd);
}

}  // namespace
