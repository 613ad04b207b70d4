// Per-client rate limits (http/rate_limit.hpp): slowapi's notation, token buckets whose
// memory does not grow with the number of clients, and the service's 429s.

#include "http/rate_limit.hpp"

#include <gtest/gtest.h>

#include "api/routes.hpp"
#include "api_support.hpp"

namespace {

using namespace std::chrono_literals;
using http::RateLimit;
using http::TokenBuckets;

TEST(RateLimit, SlowapiNotation) {
    const auto l = RateLimit::parse("5/minute");
    EXPECT_EQ(l.count, 5u);
    EXPECT_EQ(l.window, 60s);
    EXPECT_EQ(RateLimit::parse("100/second").window, 1s);
    EXPECT_EQ(RateLimit::parse(" 1000 per hour ").window, 3600s);
    EXPECT_EQ(RateLimit::parse("20/5 minutes").window, 300s);
    EXPECT_EQ(RateLimit::parse("5000/day").window, 86400s);
    EXPECT_TRUE(RateLimit::parse("off").off());
    EXPECT_TRUE(RateLimit::parse("").off());
    EXPECT_EQ(RateLimit::parse("10/minute").describe(), "10 per 1 minute");
    EXPECT_EQ(RateLimit::parse("20/5 minutes").describe(), "20 per 5 minute");
    for (const char* bad :
         {"5", "x/minute", "0/minute", "5/fortnight", "5/0 minutes", "-1/second", "5/ minute x"})
        EXPECT_THROW(RateLimit::parse(bad), std::invalid_argument) << bad;
}

TEST(TokenBuckets, AllowTheCountThenOneTokenPerSliceOfTheWindow) {
    TokenBuckets buckets(RateLimit::parse("3/minute"), 1024);
    const auto t0 = TokenBuckets::Clock::now();
    for (unsigned left : {2u, 1u, 0u}) {
        const auto v = buckets.take("203.0.113.1", t0);
        EXPECT_TRUE(v.allowed);
        EXPECT_EQ(v.remaining, left);
    }
    const auto refused = buckets.take("203.0.113.1", t0);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 20s);                   // a token every 20 s
    EXPECT_EQ(refused.reset, 60s);                         // full again in a minute
    EXPECT_TRUE(buckets.take("203.0.113.2", t0).allowed);  // another client
    EXPECT_FALSE(buckets.take("203.0.113.1", t0 + 19s).allowed);
    EXPECT_TRUE(buckets.take("203.0.113.1", t0 + 20s).allowed);
    EXPECT_FALSE(buckets.take("203.0.113.1", t0 + 21s).allowed);
}

// A flood of a million distinct client addresses: the table keeps its size, and a client
// that keeps coming is still counted (the buckets forgotten are the ones used longest ago).
TEST(TokenBuckets, AMillionClientsDoNotGrowTheTable) {
    TokenBuckets buckets(RateLimit::parse("5/minute"), 1 << 16);
    const auto bytes = buckets.memory_bytes();
    EXPECT_LT(bytes, 2u * 1024 * 1024);
    auto t = TokenBuckets::Clock::now();
    unsigned victim_allowed = 0;
    for (unsigned i = 0; i < 1'000'000; ++i) {
        const std::string address = "10." + std::to_string(i >> 16) + "." +
                                    std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
        EXPECT_TRUE(buckets.take(address, t).allowed) << address;
        if (i % 1000 == 0) {
            t += 1ms;
            victim_allowed += buckets.take("198.51.100.99", t).allowed;
        }
    }
    EXPECT_EQ(buckets.memory_bytes(), bytes);
    EXPECT_LE(buckets.keys(), buckets.slots());
    EXPECT_GT(buckets.keys(), buckets.slots() / 2);
    EXPECT_EQ(victim_allowed, 5u);  // 1000 tries over one second: its own 5, no more
}

class RateLimited : public testing_support::ApiTest {
  protected:
    RateLimited()
        : ApiTest({{"RATE_LIMIT_AUTH", "3/minute"},
                   {"RATE_LIMIT_DEFAULT", "off"},
                   {"LOGIN_MAX_FAILURES", "1000"},
                   {"LOGIN_MAX_FAILURES_PER_CLIENT", "1000"}}) {}
};

TEST_P(RateLimited, TheFourthAuthRequestOfAClientWithinTheMinuteIs429) {
    client.set_remote_address("127.0.0.1");  // a trusted proxy: X-Forwarded-For names the client
    const http::TestClient::HeaderList from_a{{"X-Forwarded-For", "198.51.100.1"}};
    const auto reg = [&](const std::string& email, const http::TestClient::HeaderList& from) {
        return client.post("/auth/register",
                           R"({"email":")" + email + R"(","password":"secret123"})", from);
    };
    EXPECT_EQ(reg("a@example.com", from_a).status, 201);
    EXPECT_EQ(
        client.post_form("/auth/token", "username=a@example.com&password=secret123", from_a).status,
        200);
    const auto third = reg("b@example.com", from_a);
    EXPECT_EQ(third.status, 201);
    EXPECT_EQ(*third.headers.find("ratelimit-policy"), R"("auth";q=3;w=60)");
    EXPECT_EQ(third.headers.find("ratelimit")->substr(0, 13), R"("auth";r=0;t=)");

    const auto fourth = reg("c@example.com", from_a);
    EXPECT_EQ(fourth.status, 429);
    EXPECT_EQ(fourth.body, R"({"detail":"Rate limit exceeded: 3 per 1 minute"})");
    const int retry = std::stoi(*fourth.headers.find("retry-after"));
    EXPECT_GE(retry, 19);
    EXPECT_LE(retry, 20);
    EXPECT_EQ(*fourth.headers.find("ratelimit-policy"), R"("auth";q=3;w=60)");
    EXPECT_EQ(fourth.headers.find("ratelimit")->substr(0, 13), R"("auth";r=0;t=)");
    EXPECT_EQ(*fourth.headers.find("x-content-type-options"), "nosniff");
    EXPECT_EQ(
        client.post_form("/auth/token", "username=a@example.com&password=secret123", from_a).status,
        429);
    // The same routes under another spelling the router accepts are the same limit.
    EXPECT_EQ(client.post_form("/auth/token/", "username=a@example.com&password=secret123", from_a).status,
              429);
    EXPECT_EQ(reg("d@example.com", from_a).status, 429);
    EXPECT_EQ(client.post("/auth/refresh", R"({"refresh_token": "any"})", from_a).status, 429) << "an auth route too";
    EXPECT_EQ(client.post("/auth/register/", R"({"email":"e@example.com","password":"secret123"})", from_a).status,
              429);
    // The refused registration wrote nothing.
    EXPECT_EQ(sql("SELECT count(*) FROM users").rows.at(0).get<std::int64_t>(0), 2);

    // Another client behind the same proxy has its own bucket; other paths are not limited.
    EXPECT_EQ(client
                  .post_form("/auth/token", "username=a@example.com&password=secret123",
                             {{"X-Forwarded-For", "198.51.100.2"}})
                  .status,
              200);
    const auto health = client.get("/health", from_a);
    EXPECT_EQ(health.status, 200);
    EXPECT_FALSE(health.headers.find("ratelimit"));
}

INSTANTIATE_TEST_SUITE_P(Backends, RateLimited, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

TEST(RateLimitSettings, DefaultEverywhereAndProductionDefaults) {
    testing_support::FreshDatabase fresh("sqlite");
    {
        testing_support::ServiceUnderTest sut(fresh.url(), {{"RATE_LIMIT_DEFAULT", "2/second"}});
        auto& c = *sut.client;
        EXPECT_EQ(c.get("/health").status, 200);
        EXPECT_EQ(*c.get("/nope").headers.find("ratelimit-policy"), R"("default";q=2;w=1)");
        const auto third = c.get("/health");
        EXPECT_EQ(third.status, 429);
        EXPECT_EQ(*third.headers.find("retry-after"), "1");
        // The auth paths have their own limit (off in development): the default covers them.
        EXPECT_EQ(c.post("/auth/register", "{}").status, 429);
    }
    EXPECT_EQ(config::load_settings({}).rate_limit_auth, "off");
    EXPECT_EQ(
        config::load_settings({{"APP_ENV", "production"}, {"SECRET_KEY", std::string(40, 'k')}})
            .rate_limit_auth,
        "10/minute");
    for (const auto& [name, value] :
         {std::pair{"RATE_LIMIT_AUTH", "ten/minute"}, {"RATE_LIMIT_DEFAULT", "5/week"}}) {
        try {
            testing_support::ServiceUnderTest sut(fresh.url(), {{name, value}});
            ADD_FAILURE() << "expected a SettingsError for " << name;
        } catch (const config::SettingsError& e) {
            EXPECT_EQ(e.setting(), name) << e.what();
        }
    }
}

// The document lists a rate limit's 429 on exactly the operations it applies to.
TEST(RateLimitSettings, TheDocumentListsThe429WhereALimitApplies) {
    auto settings = testing_support::settings_for("sqlite:///:memory:");
    const auto with_429 = [&] {
        std::vector<std::string> out;
        const auto doc = api::openapi_document(settings, api::all_routes());
        for (const auto& [path, item] : doc.at("paths").as_object())
            for (const auto& [method, op] : item.as_object())
                if (op.at("responses").as_object().contains("429"))
                    out.push_back(std::string(method) + " " + std::string(path));
        return out;
    };
    // The failed-login limit: at login, and where the current password is checked.
    EXPECT_EQ(with_429(), (std::vector<std::string>{"post /auth/token", "patch /users/me/password"}));
    settings.rate_limit_auth = "10/minute";
    EXPECT_EQ(with_429(), (std::vector<std::string>{"post /auth/register", "post /auth/token", "post /auth/refresh",
                                                    "patch /users/me/password"}));
    settings.rate_limit_default = "100/second";
    EXPECT_EQ(with_429().size(), 25u);  // the 19 operations and the 6 GETs' HEAD
    const auto doc = api::openapi_document(settings, api::all_routes());
    const auto& items_429 =
        doc.at("paths").at("/items/").at("get").at("responses").at("429").as_object();
    EXPECT_EQ(items_429.at("headers").at("RateLimit").at("required"), true);
    EXPECT_NE(std::string(items_429.at("description").as_string()).find("100 per 1 second"),
              std::string::npos);
    // Login's 429 may come from the failed-login limit, which sends no RateLimit headers.
    const auto& login_429 =
        doc.at("paths").at("/auth/token").at("post").at("responses").at("429").as_object();
    EXPECT_EQ(login_429.at("headers").at("Retry-After").at("required"), true);
    EXPECT_EQ(login_429.at("headers").at("RateLimit").at("required"), false);
}

}  // namespace
