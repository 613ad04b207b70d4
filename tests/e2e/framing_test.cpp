// Requests whose framing two parties could read differently (request smuggling) and
// expectations the server cannot meet: answered once, then the connection is closed, so
// that nothing sent after them is ever served as a request of its own.

#include <gtest/gtest.h>

#include <memory>
#include <tuple>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using e2e::Connection;

// A request that must be refused with `status`, followed on the same connection by a
// request that must never be answered (its body, or what the refused one was hiding).
struct Case {
    const char* name;
    std::string request;
    int status;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name;
}

// What an attacker hides in a body: a request of its own, answered 404 if it were served.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

std::string with_body(const std::string& head, const std::string& body) {
    return head + "\r\n" + body;
}

std::vector<Case> cases() {
    const std::string post = "POST /auth/token HTTP/1.1\r\nHost: t\r\n";
    const std::string len = "Content-Length: " + std::to_string(kSmuggled.size()) + "\r\n";
    return {
        {"TransferEncodingGzip", with_body(post + "Transfer-Encoding: gzip\r\n", kSmuggled), 400},
        {"TransferEncodingIdentity", with_body(post + "Transfer-Encoding: identity\r\n", kSmuggled),
         400},
        {"TransferEncodingChunkedThenIdentity",
         with_body(post + "Transfer-Encoding: chunked, identity\r\n", kSmuggled), 400},
        {"TransferEncodingIdentityWithLength",
         with_body(post + "Transfer-Encoding: identity\r\n" + len, kSmuggled), 400},
        {"TransferEncodingChunkedWithLength",
         with_body(post + "Transfer-Encoding: chunked\r\n" + len, "0\r\n\r\n" + kSmuggled), 400},
        {"TransferEncodingOnTwoLinesEndingInGzip",
         with_body(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", kSmuggled),
         400},
        {"TransferEncodingOnHttp10",
         with_body("POST /auth/token HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n",
                   "0\r\n\r\n" + kSmuggled),
         400},
        {"GzipUnderChunked",
         with_body(post + "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n" + kSmuggled), 501},
        {"MissingHost", with_body("GET /health HTTP/1.1\r\n", kSmuggled), 400},
        {"RepeatedHost", with_body("GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n", kSmuggled),
         400},
        {"UnknownExpectation", with_body(post + "Expect: 200-ok\r\n" + len, kSmuggled), 417},
    };
}

// The server on each database backend: framing is read before any route runs, but the
// route a smuggled request would reach must not matter.
class Framing : public ::testing::TestWithParam<std::tuple<std::string, Case>> {
  protected:
    Framing()
        : fresh(std::get<0>(GetParam())),
          server(std::make_unique<e2e::Server>(fresh.settings())) {}

    testing_support::FreshDatabase fresh;
    std::unique_ptr<e2e::Server> server;
};

TEST_P(Framing, IsRefusedAndNothingAfterItIsServed) {
    const Case& c = std::get<1>(GetParam());
    Connection conn(server->port());
    // What follows in the same packet, and later on the same connection, must never be
    // answered: the connection ends with the refusal.
    ASSERT_TRUE(conn.send(c.request + kSmuggled));
    auto r = conn.read_response();
    ASSERT_TRUE(r) << "no answer";
    EXPECT_EQ(r->status, c.status) << r->body;
    EXPECT_EQ(r->headers["content-type"], "application/json");
    EXPECT_EQ(r->headers["connection"], "close");
    conn.send(kSmuggled);  // the server may have closed already
    EXPECT_FALSE(conn.read_response(1s)) << "a request after the refused one was served";

    Connection next(server->port());
    ASSERT_TRUE(next.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto ok = next.read_response();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

INSTANTIATE_TEST_SUITE_P(Requests, Framing,
                         ::testing::Combine(::testing::ValuesIn(testing_support::backends()),
                                            ::testing::ValuesIn(cases())),
                         [](const auto& info) {
                             return std::string(std::get<1>(info.param).name) + "_" +
                                    std::get<0>(info.param);
                         });

class WellFramed : public ::testing::Test {
  protected:
    e2e::Server server;
};

// Sends `request` on `c` and reads the answer.
std::optional<e2e::RawResponse> round_trip(Connection& c, const std::string& request) {
    if (!c.send(request)) return std::nullopt;
    return c.read_response();
}

TEST_F(WellFramed, Http10WithoutHostIsServed) {
    Connection c(server.port());
    auto r = round_trip(c, "GET /health HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

TEST_F(WellFramed, ChunkedBodyInAnyCaseIsRead) {
    Connection c(server.port());
    const std::string form = "username=a%40b.co&password=x";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", form.size());
    auto r = round_trip(c, "POST /auth/token HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:  Chunked \r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n\r\n" +
                             std::string(size) + "\r\n" + form + "\r\n0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << r->body;  // read whole and validated: no such user
    auto next = round_trip(c, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
}

TEST_F(WellFramed, ExpectContinueGetsContinueThenTheAnswer) {
    Connection c(server.port());
    const std::string form = "username=a%40b.co&password=x";
    auto cont = round_trip(c, "POST /auth/token HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\n"
                            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                                std::to_string(form.size()) + "\r\n\r\n");
    ASSERT_TRUE(cont);
    EXPECT_EQ(cont->status, 100);
    auto r = round_trip(c, form);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
}

}  // namespace
