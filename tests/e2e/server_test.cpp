// The real binary over loopback: what only a socket can show.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using e2e::Connection;

const std::string kGetHealth = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

// GET /health on `c` is answered 200.
void expect_health_ok(Connection& c) {
    ASSERT_TRUE(c.send(kGetHealth));
    auto ok = c.read_response();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

// The server goes on: a new connection gets its answer.
void expect_serving(int port) {
    Connection next(port);
    expect_health_ok(next);
}

class Server : public ::testing::Test {
protected:
    e2e::Server server;
};

TEST_F(Server, HealthAnswersOkWithARequestId) {
    Connection c(server.port());
    ASSERT_TRUE(c.send(kGetHealth));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"status":"ok"})");
    EXPECT_EQ(r->headers["content-type"], "application/json");
    EXPECT_EQ(r->headers["x-request-id"].size(), 32u);
}

TEST_F(Server, EachRequestIsLoggedAsOneJsonLine) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: t\r\nX-Request-ID: trace-me-42\r\n\r\n"));
    ASSERT_TRUE(c.read_response());
    ASSERT_TRUE(server.process().wait_for_output("trace-me-42", 5s));
    const std::string out = server.process().output();
    const auto at = out.find("trace-me-42");
    const std::string line = out.substr(out.rfind('\n', at) + 1, out.find('\n', at) - out.rfind('\n', at) - 1);
    for (const char* field : {"\"time\":", "\"method\":\"GET\"", "\"route\":\"/health\"", "\"path\":\"/health\"",
                              "\"status\":200", "\"duration_ms\":", "\"bytes\":15", "\"client\":\"127.0.0.1\""})
        EXPECT_NE(line.find(field), std::string::npos) << field << " missing from " << line;
}

// Newlines, quotes, escape sequences and NUL in the path, a client's own request id and a
// forwarded address (the test connects from 127.0.0.1, a trusted proxy by default): every
// line of the log is still one whole JSON object, one per request, the route template and
// the believed client in it.
TEST_F(Server, NothingAClientSendsBreaksALogLine) {
    const std::vector<std::string> requests = {
        "GET /items/%0A%22injected%22%3A1%1B%5B31m%00 HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /items/1 HTTP/1.1\r\nHost: t\r\nX-Request-ID: a\"b\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 1.2.3.4\"}\r\nUser-Agent: \x1b[2J\r\n\r\n",
        "GET /\x7f\"\\ HTTP/1.1\r\nHost: t\r\n\r\n",
    };
    for (const auto& raw : requests) {
        Connection c(server.port());
        ASSERT_TRUE(c.send(raw));
        ASSERT_TRUE(c.read_response());
    }
    ASSERT_TRUE(server.process().wait_for_output("198.51.100.7", 5s));
    std::this_thread::sleep_for(200ms);  // the last lines
    const std::string out = server.process().output();
    std::size_t request_lines = 0, at = 0;
    while (at < out.size()) {
        const auto end = out.find('\n', at);
        const std::string line = out.substr(at, end - at);
        at = end == std::string::npos ? out.size() : end + 1;
        if (line.empty()) continue;
        boost::system::error_code ec;
        const auto value = boost::json::parse(line, ec);
        ASSERT_FALSE(ec) << "not one JSON object: " << line;
        const auto& fields = value.as_object();
        for (const auto& [key, field] : fields) {
            if (!field.is_string()) continue;
            for (unsigned char ch : std::string(field.as_string()))
                if (key != "path") {
                    EXPECT_GE(ch, 0x20) << key << " carries a control byte: " << line;
                }
        }
        if (fields.at("msg") != "request") continue;
        ++request_lines;
        if (fields.at("path") == "/items/1") {
            EXPECT_EQ(fields.at("route"), "/items/{item_id}");
            EXPECT_EQ(fields.at("client"), "198.51.100.7");
            EXPECT_EQ(fields.at("request_id").as_string().size(), 32u);  // `a"b` is not a sane id
        }
        if (fields.at("path") == "/health") {
            EXPECT_EQ(fields.at("client"), "127.0.0.1");  // `1.2.3.4"}` is not an address
        }
    }
    EXPECT_EQ(request_lines, requests.size());
}

TEST_F(Server, UnknownPathIs404Json) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, R"({"detail":"Not Found"})");
}

TEST_F(Server, WrongMethodIs405WithAllow) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->headers["allow"], "GET, HEAD");
    EXPECT_EQ(r->body, R"({"detail":"Method Not Allowed"})");
}

TEST_F(Server, TwoMebibyteBodyIs413) {
    Connection c(server.port());
    const std::string body(2 * 1024 * 1024, 'x');
    ASSERT_TRUE(c.send("POST /health HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n"));
    c.send(body);  // the server may stop reading early; it answers either way
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->body, R"({"detail":"Request body too large"})");
    // Refused before any route, the answer still went through the middleware.
    EXPECT_EQ(r->headers["x-content-type-options"], "nosniff");
    EXPECT_EQ(r->headers["x-request-id"].size(), 32u);
    Connection next(server.port());
    ASSERT_TRUE(next.send(kGetHealth));
    EXPECT_EQ(e2e::status_of(next.read_response()), 200);
}

TEST_F(Server, ChunkedBodyOverTheLimitIs413) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("POST /health HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk(256 * 1024, 'x');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 6; ++i)
        if (!c.send(size + chunk + "\r\n")) break;
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
}

TEST_F(Server, OversizedHeadersAre431) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
}

TEST_F(Server, KeepAliveServesTwoRequestsOnOneConnection) {
    Connection c(server.port());
    ASSERT_TRUE(c.send(kGetHealth));
    auto first = c.read_response();
    ASSERT_TRUE(c.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto second = c.read_response();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(second->status, 404);
}

TEST_F(Server, PipelinedRequestsAreAnsweredInOrder) {
    Connection c(server.port());
    ASSERT_TRUE(c.send(kGetHealth + "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n" + kGetHealth));
    auto a = c.read_response();
    auto b = c.read_response();
    auto d = c.read_response();
    ASSERT_TRUE(a && b && d);
    EXPECT_EQ(a->status, 200);
    EXPECT_EQ(b->status, 404);
    EXPECT_EQ(d->status, 200);
}

TEST_F(Server, MalformedRequestLineIs400AndTheServerGoesOn) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body, R"({"detail":"Bad Request"})");
    EXPECT_TRUE(c.closed_by_peer(2s));
    expect_serving(server.port());
}

TEST_F(Server, ConnectionCloseIsHonoured) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_TRUE(c.closed_by_peer(2s));
}

// Timeouts of one second (the least allowed); the server checks deadlines every 250 ms.
class ServerWithShortTimeouts : public ::testing::Test {
protected:
    e2e::Server server{{{"HEADER_TIMEOUT", "1"}, {"KEEPALIVE_TIMEOUT", "1"}}};
};

TEST_F(ServerWithShortTimeouts, AnIdleKeepAliveConnectionIsClosedAfterKeepaliveTimeout) {
    Connection c(server.port());
    expect_health_ok(c);
    EXPECT_FALSE(c.closed_by_peer(400ms)) << "closed before its keep-alive time";
    EXPECT_TRUE(c.closed_by_peer(5s));
    expect_serving(server.port());
}

TEST_F(ServerWithShortTimeouts, AConnectionThatSendsNothingIsClosedAfterHeaderTimeout) {
    Connection c(server.port());
    EXPECT_FALSE(c.closed_by_peer(400ms)) << "closed before its header time";
    EXPECT_TRUE(c.closed_by_peer(5s));
    expect_serving(server.port());
}

TEST_F(ServerWithShortTimeouts, HeadersTrickledSlowerThanHeaderTimeoutAreCutOff) {
    Connection c(server.port());
    // A byte every 200 ms: each read is quick, but the headers as a whole take longer
    // than HEADER_TIMEOUT allows, so the connection ends before they are complete.
    const std::string request = "GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(40, 'a') + "\r\n\r\n";
    bool closed = false;
    for (char ch : request) {
        if (!c.send(std::string(1, ch)) || c.closed_by_peer(200ms)) {
            closed = true;
            break;
        }
    }
    EXPECT_TRUE(closed || c.closed_by_peer(5s));
    EXPECT_FALSE(c.read_response(200ms)) << "a response to headers that came too slowly";
    expect_serving(server.port());
}

// Slowloris: 200 connections trickling header lines are cut at HEADER_TIMEOUT (1 s here),
// however steadily they trickle, while a normal client keeps being served beside them.
TEST_F(ServerWithShortTimeouts, SlowlorisConnectionsAreCutWhileOthersAreServed) {
    std::vector<std::unique_ptr<Connection>> slow;
    for (int i = 0; i < 200; ++i) {
        slow.push_back(std::make_unique<Connection>(server.port()));
        ASSERT_TRUE(slow.back()->send("GET /health HTTP/1.1\r\n"));
    }
    const auto start = std::chrono::steady_clock::now();
    int served = 0;
    while (std::chrono::steady_clock::now() - start < 1500ms) {
        for (auto& c : slow) c->send("X-Trickle: 1\r\n");  // fails once the server has cut it
        expect_serving(server.port());
        ++served;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_GE(served, 10);
    for (auto& c : slow) EXPECT_TRUE(c->closed_by_peer(2s)) << "a trickling connection outlived HEADER_TIMEOUT";
}

TEST_F(ServerWithShortTimeouts, ABodyThatStopsComingIsCutOffAfterHeaderTimeout) {
    Connection c(server.port());
    ASSERT_TRUE(c.send("POST /auth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: 40\r\n\r\nusername=a"));
    EXPECT_FALSE(c.closed_by_peer(400ms)) << "closed before its header time";
    EXPECT_TRUE(c.closed_by_peer(5s));
    expect_serving(server.port());
}

// A drain closes nothing early (docs/deployment.md): it stops accepting; a request on a
// connection opened before SIGTERM is answered, with Connection: close; an idle connection
// is closed at its keep-alive time, not at once; the request in flight finishes; exit 0.
TEST(Drain, OpenConnectionsAreServedThenClosedAndTheProcessExitsZero) {
    e2e::Server server(std::map<std::string, std::string>{{"KEEPALIVE_TIMEOUT", "2"}});
    Connection slow(server.port());
    // Headers and half the body: the request is in flight when the signal arrives.
    ASSERT_TRUE(slow.send("GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345"));
    Connection reused(server.port());
    expect_health_ok(reused);  // a keep-alive connection, idle now, as in a proxy's pool
    Connection silent(server.port());
    std::this_thread::sleep_for(200ms);
    server.process().signal(SIGTERM);
    ASSERT_TRUE(server.process().wait_for_output("shutting down", 5s));
    std::this_thread::sleep_for(100ms);
    EXPECT_THROW(Connection refused(server.port()), std::runtime_error) << "a draining server accepted";

    ASSERT_TRUE(reused.send(kGetHealth));
    auto again = reused.read_response();
    ASSERT_TRUE(again) << "a request on an open connection was dropped by the drain";
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(again->headers["connection"], "close");
    EXPECT_TRUE(reused.closed_by_peer(1s));

    EXPECT_FALSE(silent.closed_by_peer(500ms)) << "an idle connection was closed at once";
    EXPECT_TRUE(silent.closed_by_peer(3s)) << "an idle connection outlived its keep-alive time";
    EXPECT_FALSE(server.process().wait(300ms).has_value()) << "exited before the in-flight request finished";

    ASSERT_TRUE(slow.send("67890"));
    auto r = slow.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_EQ(server.process().wait(10s), 0);
}

// 10,000 idle keep-alive connections, each served once, do not keep a new client waiting:
// it is served at once, and so is the next request on an old one. The file-descriptor limit is
// raised for this process and the server it starts (root may raise the hard limit too).
TEST(Capacity, TenThousandIdleKeepAliveConnectionsDoNotStopNewClients) {
    constexpr std::size_t kIdle = 10000;
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    const rlim_t want = kIdle + 1000;
    if (limit.rlim_cur < want) {
        rlimit raised{want, std::max(limit.rlim_max, want)};
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0) << "cannot raise the open-file limit to " << want;
    }
    e2e::Server server(std::map<std::string, std::string>{{"KEEPALIVE_TIMEOUT", "120"}, {"HEADER_TIMEOUT", "120"}});
    std::vector<std::unique_ptr<Connection>> idle;
    idle.reserve(kIdle);
    for (std::size_t i = 0; i < kIdle; ++i) {
        idle.push_back(std::make_unique<Connection>(server.port()));
        ASSERT_TRUE(idle.back()->send(kGetHealth));
        // Read in batches, so that the kernel's accept queue never overflows.
        if (i % 256 == 255 || i + 1 == kIdle)
            for (std::size_t j = i - i % 256; j <= i; ++j) {
                auto r = idle[j]->read_response();
                ASSERT_TRUE(r) << "connection " << j << " was not served";
                ASSERT_EQ(r->status, 200);
            }
    }
    expect_serving(server.port());
    expect_health_ok(*idle.front());
    expect_health_ok(*idle.back());
    expect_serving(server.port());
}

// Above 128 connections on a loop, a connection's next request is read after epoll says it
// is there (server.cpp, kReadyPerPass), not at once after its answer. Every way a request
// can arrive is still read whole: one loop, 300 connections open.
TEST(ManyConnections, EveryWayARequestArrivesIsStillServed) {
    e2e::Server server(std::map<std::string, std::string>{{"THREADS", "1"}, {"KEEPALIVE_TIMEOUT", "2"}});
    std::vector<std::unique_ptr<Connection>> open;
    for (int i = 0; i < 300; ++i) {
        open.push_back(std::make_unique<Connection>(server.port()));
        expect_health_ok(*open.back());
    }
    Connection& c = *open[150];
    expect_health_ok(c);  // keep-alive: the next request on a served connection

    ASSERT_TRUE(c.send(kGetHealth + "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"));  // pipelined
    auto a = c.read_response();
    auto b = c.read_response();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->status, 200);
    EXPECT_EQ(b->status, 404);

    for (const char* piece : {"GET /hea", "lth HTTP/1.1\r\nHo", "st: t\r\n\r\n"}) {  // in pieces
        ASSERT_TRUE(c.send(piece));
        std::this_thread::sleep_for(50ms);
    }
    auto pieces = c.read_response();
    ASSERT_TRUE(pieces);
    EXPECT_EQ(pieces->status, 200);

    const std::string form = "username=nobody%40example.com&password=wrong-password";
    ASSERT_TRUE(c.send("POST /auth/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: " + std::to_string(form.size()) + "\r\n\r\n" + form.substr(0, 10)));
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(c.send(form.substr(10)));  // a body that comes later than its headers
    auto login = c.read_response();
    ASSERT_TRUE(login);
    EXPECT_EQ(login->status, 401);

    for (auto& other : open) expect_health_ok(*other);  // each one again, after all that
    EXPECT_TRUE(open.front()->closed_by_peer(5s)) << "an idle connection outlived its keep-alive time";
    expect_serving(server.port());
}

// The open-file limit it starts with (1,000 here) is raised to the hard limit: each
// connection is a file.
TEST(Capacity, TheOpenFileLimitIsRaisedToTheHardLimit) {
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_max <= 1000) GTEST_SKIP() << "a hard limit of " << limit.rlim_max << " leaves nothing to raise";
    const rlimit low{1000, limit.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    e2e::Server server;  // inherits the low soft limit
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    std::ifstream limits("/proc/" + std::to_string(server.process().pid()) + "/limits");
    std::string line;
    while (std::getline(limits, line) && line.rfind("Max open files", 0) != 0) {
    }
    ASSERT_EQ(line.rfind("Max open files", 0), 0u) << "no open-file limit in /proc/<pid>/limits";
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    EXPECT_EQ(soft, hard) << line;
    EXPECT_EQ(hard, limit.rlim_max == RLIM_INFINITY ? "unlimited" : std::to_string(limit.rlim_max));
}

TEST_F(Server, SigintExitsZeroWhenIdle) {
    server.process().signal(SIGINT);
    EXPECT_EQ(server.process().wait(10s), 0);
}

}  // namespace
