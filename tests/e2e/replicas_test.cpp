// Three replicas behind a real nginx (deploy/nginx.conf) on one real PostgreSQL, all on
// loopback: they start at once, each running `migrate up` first (racing); the API's flows
// pass through nginx; a token from one replica works on the others; rolling restarts
// (SIGTERM, start again, the next; six rounds) under 8 writers lose no request and no
// acknowledged write; a replica killed with SIGKILL mid-run loses no acknowledged write.
// And one service behind the same nginx, on each database: HEAD, GET and POST mixed on
// kept-alive connections are each answered right.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "../integration/support.hpp"
#include "db/migrations.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;

using e2e::exchange;
using e2e::free_port;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << "deploy/nginx.conf has no '" << from << "'";
    text.replace(at, from.size(), to);
}

const std::string kJson = "Content-Type: application/json\r\n";

// deploy/nginx.conf in front of the services on `upstreams`, on a free loopback port, its
// upstream's idle timeout below the services' KEEPALIVE_TIMEOUT, as there. Stopped with it.
struct Nginx {
    void start(const std::vector<int>& upstreams, const std::string& folder) {
        std::string conf = read_file(std::string(ITEMS_DEPLOY_DIR) + "/nginx.conf");
        // `server api:8000 <parameters>;` -> one such line per service, with the same parameters
        const auto at = conf.find("server api:8000");
        ASSERT_NE(at, std::string::npos) << "deploy/nginx.conf has no 'server api:8000'";
        const auto end = conf.find(';', at);
        const std::string parameters = conf.substr(at + 15, end - at - 15);
        std::string servers;
        for (int upstream : upstreams) servers += "server 127.0.0.1:" + std::to_string(upstream) + parameters + ";\n";
        conf.replace(at, end + 1 - at, servers);
        replace_once(conf, "keepalive_timeout 4s;", "keepalive_timeout 1s;");
        port = free_port();
        replace_once(conf, "listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";");
        const std::string dir = folder + "/nginx";
        std::filesystem::create_directories(dir + "/logs");
        std::ofstream(dir + "/nginx.conf") << conf;
        process = std::make_unique<e2e::Process>(
            std::vector<std::string>{"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf", "-g",
                                     "daemon off; pid " + dir + "/nginx.pid; error_log " + dir + "/error.log;"},
            std::map<std::string, std::string>{}, dir);
        for (int i = 0; i < 100; ++i) {
            const auto r = exchange(port, "GET", "/health");
            if (r && r->status == 200) return;
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << "nginx does not answer: " << read_file(dir + "/error.log");
    }

    ~Nginx() {
        if (process) {
            process->signal(SIGQUIT);
            process->wait(10s);
        }
    }

    int port = 0;
    std::unique_ptr<e2e::Process> process;
};

bool have_nginx() { return std::filesystem::exists("/usr/sbin/nginx"); }


// What the writers saw: each request sent gets exactly one of these.
struct Tally {
    std::mutex mutex;
    std::set<std::int64_t> acknowledged;  // ids answered 201
    std::map<int, int> other;             // other statuses
    int unanswered = 0;                   // sent, no answer (the connection ended or timed out)
};

class Replicas : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!testing_support::have_postgres())
            GTEST_SKIP() << "no PostgreSQL: run the suite with ./dev test";
        if (!have_nginx())
            GTEST_SKIP() << "no nginx: run the suite with ./dev test";
        fresh = std::make_unique<testing_support::FreshDatabase>("postgres");
        folder = e2e::temp_folder();
        env = fresh->settings();
        env["SECRET_KEY"] =
            "replicas-share-this-secret-key-0123456789abcdef";  // every replica's tokens are the
                                                                // others'
        env["HOST"] = "127.0.0.1";
        env["THREADS"] = "2";
        env["LOG_FORMAT"] = "json";
        env["KEEPALIVE_TIMEOUT"] = "2";  // the drain's grace for idle connections
        for (int i = 0; i < 3; ++i) ports.push_back(free_port());
    }

    // Replica i on its port; `migrate`: `migrate up` first, as a replica that migrates at start.
    void start(int i, bool migrate) {
        auto e = env;
        e["PORT"] = std::to_string(ports[i]);
        const std::string bin = ITEMS_API_BINARY;
        const std::string command =
            migrate ? bin + " migrate up && exec " + bin + " serve" : "exec " + bin + " serve";
        const std::string cwd = folder + "/replica" + std::to_string(i);  // its own stdout.log
        std::filesystem::create_directories(cwd);
        replicas[i].reset();  // reaped (it has exited)
        replicas[i] = std::make_unique<e2e::Process>(
            std::vector<std::string>{"/bin/sh", "-c", command}, e, cwd);
    }

    bool listening(int i) { return replicas[i]->wait_for_output("\"msg\":\"listening\"", 30s); }

    void start_nginx() { nginx.start(ports, folder); }

    // 8 clients POST items through nginx on keep-alive connections until `stop`.
    std::vector<std::thread> writers(const std::string& bearer, Tally& tally,
                                     std::atomic<bool>& stop) {
        std::vector<std::thread> threads;
        for (int w = 0; w < 8; ++w)
            threads.emplace_back([&, w] {
                auto c = std::make_unique<e2e::Connection>(nginx_port);
                for (int n = 0; !stop; ++n) {
                    const std::string body =
                        R"({"title":"w)" + std::to_string(w) + "-" + std::to_string(n) + R"("})";
                    const auto r =
                        c->send(e2e::request_text("POST", "/items/", body, kJson + bearer))
                            ? c->read_response(10s)
                            : std::nullopt;
                    // nginx ends a client's keep-alive connection after keepalive_requests (1000)
                    if (!r ||
                        (r->headers.count("connection") && r->headers.at("connection") == "close"))
                        c = std::make_unique<e2e::Connection>(nginx_port);
                    std::lock_guard lock(tally.mutex);
                    if (!r)
                        ++tally.unanswered;
                    else if (r->status == 201)
                        tally.acknowledged.insert(boost::json::parse(r->body).at("id").as_int64());
                    else
                        ++tally.other[r->status];
                }
            });
        return threads;
    }

    std::set<std::int64_t> ids_in_database() const {
        std::set<std::int64_t> ids;
        std::stringstream all(
            fresh->admin_value("SELECT coalesce(string_agg(id::text, ' '), '') FROM items"));
        for (std::int64_t id; all >> id;) ids.insert(id);
        return ids;
    }

    std::unique_ptr<testing_support::FreshDatabase> fresh;
    std::string folder;
    std::map<std::string, std::string> env;
    std::vector<int> ports;
    std::unique_ptr<e2e::Process> replicas[3];
    Nginx nginx;
    const int& nginx_port = nginx.port;
};

TEST_F(Replicas, StartTogetherServeThroughNginxAndRollWithoutLosingAWrite) {
    // Three at once, each migrating first: the advisory lock lets one apply each migration.
    for (int i = 0; i < 3; ++i) start(i, true);
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(listening(i)) << replicas[i]->errors() << replicas[i]->output();
    EXPECT_EQ(fresh->admin_value("SELECT count(*) FROM schema_migrations"),
              std::to_string(db::migrations_for(db::Dialect::postgres).size()));
    start_nginx();
    if (HasFatalFailure()) return;

    // The main flows, through nginx (round robin: each request may reach another replica).
    const auto registered = exchange(nginx_port, "POST", "/auth/register",
                                     R"({"email":"r@example.com","password":"secret123"})", kJson);
    ASSERT_TRUE(registered && registered->status == 201);
    const std::string form = "username=r@example.com&password=secret123";
    const auto login = exchange(nginx_port, "POST", "/auth/token", form,
                                "Content-Type: application/x-www-form-urlencoded\r\n");
    ASSERT_TRUE(login && login->status == 200);
    const std::string token(boost::json::parse(login->body).at("access_token").as_string());
    const std::string bearer = "Authorization: Bearer " + token + "\r\n";
    const auto created =
        exchange(nginx_port, "POST", "/items/", R"({"title":"first"})", kJson + bearer);
    ASSERT_TRUE(created && created->status == 201);
    const auto id = boost::json::parse(created->body).at("id").as_int64();
    for (int k = 0; k < 3; ++k) {
        const auto item = exchange(nginx_port, "GET", "/items/" + std::to_string(id), {}, bearer);
        ASSERT_TRUE(item && item->status == 200);
        EXPECT_NE(item->body.find("\"title\":\"first\""), std::string::npos);
        const auto list = exchange(nginx_port, "GET", "/items/", {}, bearer);
        ASSERT_TRUE(list && list->status == 200);
        EXPECT_NE(list->body.find("\"title\":\"first\""), std::string::npos);
    }
    // The client's address comes through nginx's X-Forwarded-For; the token from one
    // replica is good on each of them.
    for (int port : ports) {
        const auto me = exchange(port, "GET", "/users/me", {}, bearer);
        ASSERT_TRUE(me && me->status == 200) << port;
        EXPECT_NE(me->body.find("\"email\":\"r@example.com\""), std::string::npos);
    }

    // Rolling restarts while 8 clients write, six rounds (each replica stopped and started
    // 6 times): no request fails, every 201 is in the database. A drain that closed idle
    // keep-alive connections at once failed here (one 502 in 18 restarts: nginx had sent
    // a POST on a connection the replica was closing).
    {
        Tally tally;
        std::atomic<bool> stop{false};
        auto threads = writers(bearer, tally, stop);
        std::this_thread::sleep_for(500ms);
        for (int restart = 0; restart < 18; ++restart) {
            const int i = restart % 3;
            replicas[i]->signal(SIGTERM);
            EXPECT_EQ(replicas[i]->wait(20s), 0) << "replica " << i;
            start(i, false);
            ASSERT_TRUE(listening(i)) << replicas[i]->errors();
            // nginx took the stopped replica out when it refused a connection: until its
            // fail_timeout is over, before the next one stops (docs/deployment.md).
            std::this_thread::sleep_for(2500ms);
        }
        stop = true;
        for (auto& t : threads) t.join();
        EXPECT_EQ(tally.unanswered, 0);
        EXPECT_TRUE(tally.other.empty())
            << "answers other than 201, e.g. status " << tally.other.begin()->first << " x"
            << tally.other.begin()->second;
        EXPECT_GT(tally.acknowledged.size(), 100u);
        const auto ids = ids_in_database();
        for (auto acknowledged : tally.acknowledged)
            EXPECT_TRUE(ids.count(acknowledged)) << acknowledged;
        EXPECT_EQ(ids.size(), tally.acknowledged.size() + 1) << "a write that was not acknowledged";
    }

    // SIGKILL mid-run: requests on the killed replica may fail (nginx does not send a POST
    // twice), but every write acknowledged is in the database.
    {
        Tally tally;
        std::atomic<bool> stop{false};
        auto threads = writers(bearer, tally, stop);
        std::this_thread::sleep_for(1s);
        replicas[1]->signal(SIGKILL);
        replicas[1]->wait(10s);
        std::this_thread::sleep_for(1s);
        start(1, false);
        ASSERT_TRUE(listening(1)) << replicas[1]->errors();
        std::this_thread::sleep_for(500ms);
        stop = true;
        for (auto& t : threads) t.join();
        EXPECT_GT(tally.acknowledged.size(), 100u);
        const auto ids = ids_in_database();
        for (auto acknowledged : tally.acknowledged)
            EXPECT_TRUE(ids.count(acknowledged)) << acknowledged;
    }
    for (auto& r : replicas) {
        r->signal(SIGTERM);
        EXPECT_EQ(r->wait(20s), 0);
    }
}

// One service behind nginx, which keeps its connections to it alive: 4 clients send 250
// requests each, HEAD, GET and POST in turn (successes and errors), on keep-alive
// connections. Every answer is the right one: a HEAD answer that carried a body would leave
// bytes on nginx's connection to the service, which it reads as the next answer's start
// (nginx: "upstream sent invalid header", 502) or drops with the connection.
class NginxInFront : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        if (!have_nginx()) GTEST_SKIP() << "no nginx: run the suite with ./dev test";
        fresh = std::make_unique<testing_support::FreshDatabase>(GetParam());
        auto env = fresh->settings();
        if (GetParam() == "sqlite") env["DATABASE_URL"] = "sqlite:///" + folder + "/app.db";
        env["RATE_LIMIT_AUTH"] = "off";
        server = std::make_unique<e2e::Server>(env);
        nginx.start({server->port()}, folder);
    }

    std::string folder = e2e::temp_folder();
    std::unique_ptr<testing_support::FreshDatabase> fresh;
    std::unique_ptr<e2e::Server> server;
    Nginx nginx;
};

TEST_P(NginxInFront, MixedHeadGetAndPostOnKeptAliveConnectionsAreEachAnsweredRight) {
    if (HasFatalFailure()) return;
    ASSERT_TRUE(exchange(nginx.port, "POST", "/auth/register", R"({"email":"n@example.com","password":"secret123"})",
                         kJson));
    const auto login = exchange(nginx.port, "POST", "/auth/token", "username=n@example.com&password=secret123",
                                "Content-Type: application/x-www-form-urlencoded\r\n");
    ASSERT_TRUE(login && login->status == 200);
    const std::string bearer = "Authorization: Bearer " +
                               std::string(boost::json::parse(login->body).at("access_token").as_string()) + "\r\n";
    const auto first = exchange(nginx.port, "POST", "/items/", R"({"title":"first"})", kJson + bearer);
    ASSERT_TRUE(first && first->status == 201);
    const std::string item = "/items/" + std::to_string(boost::json::parse(first->body).at("id").as_int64());
    const auto item_length = std::to_string(first->body.size());

    struct Exchange {
        std::string method, target, body, headers;
        int status;
        std::string content_length;  // of a HEAD answer: the GET's
    };
    const std::vector<Exchange> turns{
        {"HEAD", "/health", "", "", 200, "15"},
        {"GET", item, "", bearer, 200, ""},
        {"HEAD", item, "", bearer, 200, item_length},
        {"POST", "/items/", "", kJson + bearer, 201, ""},
        {"HEAD", "/nope", "", "", 404, "22"},
        {"GET", "/nope", "", "", 404, ""},
        {"HEAD", "/items/abc", "", bearer, 422, ""},
        {"HEAD", "/auth/register", "", "", 405, "31"},
        {"POST", "/items/", R"({"title":""})", kJson + bearer, 422, ""},
        {"HEAD", item, "", "", 401, "30"},
    };
    std::mutex mutex;
    std::vector<std::string> wrong;
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
        clients.emplace_back([&, t] {
            auto c = std::make_unique<e2e::Connection>(nginx.port);
            for (int n = 0; n < 250; ++n) {
                const Exchange& x = turns[static_cast<std::size_t>(n + t) % turns.size()];
                const std::string title = "t" + std::to_string(t) + "-" + std::to_string(n);
                const std::string body =
                    x.method == "POST" && x.body.empty() ? R"({"title":")" + title + R"("})" : x.body;
                std::optional<e2e::RawResponse> r;
                if (c->send(e2e::request_text(x.method, x.target, body, x.headers)))
                    r = x.method == "HEAD" ? c->read_head_response(10s) : c->read_response(10s);
                std::string problem;
                if (!r)
                    problem = "no answer";
                else if (r->status != x.status)
                    problem = "status " + std::to_string(r->status) + ": " + r->body;
                else if (x.method == "HEAD" && !x.content_length.empty() &&
                         r->headers["content-length"] != x.content_length)
                    problem = "Content-Length " + r->headers["content-length"];
                else if (x.method == "GET" && x.status == 200 && r->body.find(R"("title":"first")") == std::string::npos)
                    problem = "body " + r->body;
                else if (x.method == "POST" && x.status == 201 && r->body.find(title) == std::string::npos)
                    problem = "body " + r->body;
                if (problem.empty()) {
                    ++answered;
                } else {
                    std::lock_guard lock(mutex);
                    wrong.push_back(x.method + " " + x.target + ": " + problem);
                }
                // nginx ends a client's keep-alive connection after keepalive_requests (1000)
                if (!r || r->headers["connection"] == "close") c = std::make_unique<e2e::Connection>(nginx.port);
            }
        });
    for (auto& c : clients) c.join();
    EXPECT_EQ(answered, 1000);
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong, the first: " << wrong.front();
}

INSTANTIATE_TEST_SUITE_P(Backends, NginxInFront, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
