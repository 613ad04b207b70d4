// HTTP/1.1 as RFC 9110 and 9112 say a server must speak it, on a real socket: an answer to
// HEAD carries no body (whatever its status), a request may name its target as an absolute
// URI, every answer has a Date, and the head of a request may be as large as nginx lets it.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <ctime>
#include <map>
#include <memory>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using e2e::Connection;

const std::string kGetHealth = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

// The value of the header `name` (lower case), or empty.
std::string header(const e2e::RawResponse& r, const std::string& name) {
    const auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
}

// The server on each database backend, with a user who has an item.
class Protocol : public ::testing::TestWithParam<std::string> {
  protected:
    Protocol() : fresh(GetParam()) {
        // SQLite in a file, so that the test can write to it beside the service.
        env = fresh.settings();
        if (GetParam() == "sqlite") env["DATABASE_URL"] = "sqlite:///" + e2e::temp_folder() + "/app.db";
        server = std::make_unique<e2e::Server>(env);
        const std::string json = "Content-Type: application/json\r\n";
        e2e::exchange(port(), "POST", "/auth/register", R"({"email":"head@example.com","password":"secret123"})",
                      json);
        const auto login = e2e::exchange(port(), "POST", "/auth/token", "username=head@example.com&password=secret123",
                                         "Content-Type: application/x-www-form-urlencoded\r\n");
        if (login && login->status == 200)
            bearer = "Authorization: Bearer " +
                     std::string(boost::json::parse(login->body).at("access_token").as_string()) + "\r\n";
        e2e::exchange(port(), "POST", "/items/", R"({"title":"Kept"})", json + bearer);
    }
    int port() const { return server->port(); }

    // HEAD `target` and then GET /health on one connection, each sent once the answer
    // before has come (or `pipelined`: both at once): the HEAD's head, then exactly the
    // GET's answer. A body after the HEAD's head would be read as the start of that answer.
    std::optional<e2e::RawResponse> head_then_get(const std::string& target, const std::string& headers = {},
                                                  bool pipelined = false) {
        Connection c(port());
        const std::string head = "HEAD " + target + " HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n";
        if (pipelined) {
            EXPECT_TRUE(c.send(head + kGetHealth));
        } else {
            EXPECT_TRUE(c.send(head));
        }
        auto answer = c.read_head_response();
        if (!answer) {
            ADD_FAILURE() << "no answer to HEAD " << target;
            return std::nullopt;
        }
        if (!pipelined) {
            EXPECT_TRUE(c.send(kGetHealth));
        }
        const auto next = c.read_response();
        EXPECT_TRUE(next) << "after HEAD " << target << ", the next answer is not well framed";
        if (next) {
            EXPECT_EQ(next->status, 200) << "after HEAD " << target;
            EXPECT_EQ(next->body, R"({"status":"ok"})") << "after HEAD " << target;
            EXPECT_EQ(c.unread(), 0u) << "after HEAD " << target;
        }
        return answer;
    }

    // The GET answer to `target` on a connection of its own.
    e2e::RawResponse get(const std::string& target, const std::string& headers = {}) {
        auto r = e2e::exchange(port(), "GET", target, {}, headers);
        if (!r) ADD_FAILURE() << "no answer to GET " << target;
        return r.value_or(e2e::RawResponse{});
    }

    testing_support::FreshDatabase fresh;
    std::map<std::string, std::string> env;  // the service's settings
    std::unique_ptr<e2e::Server> server;
    std::string bearer;
};

TEST_P(Protocol, HeadOfAGetRouteIsItsAnswerWithoutTheBody) {
    for (const auto& [target, headers] : std::vector<std::pair<std::string, std::string>>{
             {"/health", ""}, {"/items/", bearer}, {"/items/1", bearer}, {"/users/me", bearer},
             {"/openapi.json", ""}, {"/docs", ""}, {"/redoc", ""}}) {
        const auto head = head_then_get(target, headers);
        const auto full = get(target, headers);
        ASSERT_TRUE(head) << target;
        EXPECT_EQ(head->status, 200) << target;
        EXPECT_EQ(full.status, 200) << target;
        EXPECT_EQ(header(*head, "content-length"), std::to_string(full.body.size())) << target;
        EXPECT_EQ(header(*head, "content-type"), header(full, "content-type")) << target;
    }
}

TEST_P(Protocol, HeadOfAnErrorCarriesNoBodyEither) {
    struct Case {
        std::string target, headers;
        int status;
    };
    for (const auto& c : std::vector<Case>{{"/nope", "", 404},
                                           {"/auth/register", "", 405},
                                           {"/items/", "", 401},
                                           {"/items/987654", bearer, 404},
                                           {"/items/abc", bearer, 422},
                                           {"/items/?limit=0", bearer, 422}}) {
        for (bool pipelined : {false, true}) {
            const auto head = head_then_get(c.target, c.headers, pipelined);
            ASSERT_TRUE(head) << c.target;
            EXPECT_EQ(head->status, c.status) << c.target;
            EXPECT_NE(header(*head, "content-length"), "0") << c.target << ": the GET's length, not the HEAD's";
        }
    }
    const auto not_allowed = head_then_get("/auth/register");
    ASSERT_TRUE(not_allowed);
    EXPECT_EQ(header(*not_allowed, "allow"), "POST");
}

// A HEAD the server refuses before any route runs (its framing) gets no body either.
TEST_P(Protocol, HeadOfARefusedRequestCarriesNoBody) {
    Connection c(port());
    ASSERT_TRUE(c.send("HEAD /health HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n\r\n"));
    const auto r = c.read_head_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 417);
    EXPECT_TRUE(c.closed_by_peer(2s));
    EXPECT_EQ(c.unread(), 0u) << "bytes after the head of a HEAD answer";
}

TEST_P(Protocol, HeadOfAStreamedAnswerSendsNoChunks) {
    e2e::run_sql(env.at("DATABASE_URL"), env,
                 "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) "
                 "INSERT INTO items (title, description, owner_id) SELECT 'item ' || n, NULL, 1 FROM g");
    const auto head = head_then_get("/users/me", bearer);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(header(*head, "transfer-encoding"), "chunked");
}

TEST_P(Protocol, AnAbsoluteFormTargetIsServedAsItsPath) {
    const auto health = get("http://api.example/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, R"({"status":"ok"})");
    const auto items = get("HTTP://api.example:8000/items/?limit=1", bearer);
    EXPECT_EQ(items.status, 200) << items.body;
    EXPECT_EQ(boost::json::parse(items.body).as_array().size(), 1u) << items.body;
    EXPECT_EQ(get("https://api.example/items/1", bearer).status, 200);
    EXPECT_EQ(get("http://api.example?x=1").status, 404) << "the root, which no route serves";
    EXPECT_EQ(get("http://api.example/nope").status, 404);
}

TEST_P(Protocol, EveryAnswerHasADate) {
    // IMF-fixdate (RFC 9110 section 5.6.7): what reads back as a date and prints back the same.
    const auto check = [&](const e2e::RawResponse& r, const std::string& what) {
        const std::string date = header(r, "date");
        std::tm t{};
        const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &t);
        ASSERT_TRUE(end && *end == '\0') << what << ": Date '" << date << "'";
        char again[64];
        std::strftime(again, sizeof again, "%a, %d %b %Y %H:%M:%S GMT", &t);
        EXPECT_EQ(date, again) << what;
        EXPECT_LE(std::abs(timegm(&t) - std::time(nullptr)), 5) << what << ": " << date;
    };
    check(get("/health"), "200");
    check(get("/nope"), "404");
    check(get("/items/"), "401");
    Connection c(port());
    ASSERT_TRUE(c.send("DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n"));
    const auto not_allowed = c.read_response();
    ASSERT_TRUE(not_allowed);
    check(*not_allowed, "405");
    Connection bad(port());
    ASSERT_TRUE(bad.send("NOT HTTP\r\n\r\n"));
    const auto refused = bad.read_response();
    ASSERT_TRUE(refused);
    check(*refused, "400");
}

// nginx's defaults (large_client_header_buffers 4 8k): a line within 8 KiB, the whole head
// within 32 KiB. A request with a large cookie and a large token gets through.
TEST_P(Protocol, AHeadOfLargeCookiesAndATokenIsServed) {
    std::string headers;
    for (int i = 0; i < 3; ++i) headers += "Cookie: c" + std::to_string(i) + "=" + std::string(7000, 'a' + i) + "\r\n";
    const auto r = get("/items/1", headers + bearer);
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST_P(Protocol, ALineOver8KiBOrAHeadOver32KiBIsRefused) {
    EXPECT_EQ(get("/health", "X-Big: " + std::string(8200, 'a') + "\r\n").status, 431);
    EXPECT_EQ(get("/health?" + std::string(8200, 'q')).status, 414);
    std::string headers;
    for (int i = 0; i < 5; ++i) headers += "X-Part-" + std::to_string(i) + ": " + std::string(7000, 'p') + "\r\n";
    EXPECT_EQ(get("/health", headers).status, 431);
}

INSTANTIATE_TEST_SUITE_P(Backends, Protocol, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
