#include <boost/json/parse.hpp>

#include "support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ServiceUnderTest;

class App : public ::testing::TestWithParam<std::string> {
protected:
    testing_support::FreshDatabase fresh{GetParam()};
    ServiceUnderTest sut{fresh.url()};
    http::TestClient& client = *sut.client;
};

TEST_P(App, HealthIsOkWhenTheDatabaseAnswers) {
    auto r = client.get("/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"status":"ok"})"));
    ASSERT_NE(r.headers.find("content-type"), nullptr);
    EXPECT_EQ(*r.headers.find("content-type"), "application/json");
}

TEST_P(App, EveryResponseCarriesARequestId) {
    auto r = client.get("/health");
    ASSERT_NE(r.headers.find("x-request-id"), nullptr);
    EXPECT_EQ(r.headers.find("x-request-id")->size(), 32u);
    auto other = client.get("/health");
    EXPECT_NE(*other.headers.find("x-request-id"), *r.headers.find("x-request-id"));
    EXPECT_NE(client.get("/nope").headers.find("x-request-id"), nullptr);
}

TEST_P(App, ASaneClientRequestIdIsEchoed) {
    auto r = client.get("/health", {{"X-Request-ID", "abc-123.def_4:5"}});
    EXPECT_EQ(*r.headers.find("x-request-id"), "abc-123.def_4:5");
}

TEST_P(App, AnInsaneClientRequestIdIsReplaced) {
    for (std::string bad : {std::string("has space"), std::string(129, 'a'), std::string("a\"b"), std::string()}) {
        auto r = client.get("/health", {{"X-Request-ID", bad}});
        EXPECT_NE(*r.headers.find("x-request-id"), bad);
        EXPECT_EQ(r.headers.find("x-request-id")->size(), 32u);
    }
}

TEST_P(App, UnknownPathIsNotFoundJson) {
    auto r = client.get("/nope");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"detail":"Not Found"})"));
}

TEST_P(App, WrongMethodIsMethodNotAllowedWithAllow) {
    auto r = client.post("/health", "{}");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"detail":"Method Not Allowed"})"));
    ASSERT_NE(r.headers.find("allow"), nullptr);
    EXPECT_EQ(*r.headers.find("allow"), "GET, HEAD");
}

TEST_P(App, TrailingSlashReachesTheSameRoute) { EXPECT_EQ(client.get("/health/").status, 200); }

INSTANTIATE_TEST_SUITE_P(Backends, App, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
