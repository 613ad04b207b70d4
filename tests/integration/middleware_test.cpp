// The middleware chain (http::App::use) and the pieces every service gets: trusted proxies,
// request id, security headers. The access log's line is checked over a socket (e2e).

#include "http/middleware.hpp"

#include <gtest/gtest.h>

#include "api_support.hpp"
#include "core/log.hpp"
#include "http/route.hpp"
#include "http/test_client.hpp"

namespace {

using http::RequestContext;
using http::Response;

// Records its calls in `log`; answers `answer` in before() when given.
struct Recorder final : http::Middleware {
    Recorder(std::string name, std::vector<std::string>& log, std::optional<int> answer = {})
        : name(std::move(name)), log(log), answer(answer) {}
    std::optional<Response> before(RequestContext&) const override {
        log.push_back(name + ".before");
        if (answer) return Response::detail(*answer, name);
        return std::nullopt;
    }
    void after(RequestContext&, Response& r) const override {
        log.push_back(name + ".after " + std::to_string(r.status));
        r.headers.add("x-seen-by", name);
    }
    std::string name;
    std::vector<std::string>& log;
    std::optional<int> answer;
};

struct Throws final : http::Middleware {
    std::optional<Response> before(RequestContext&) const override {
        throw http::HttpError{418, "teapot", {}};
    }
};

class Chain : public ::testing::Test {
  protected:
    Chain() {
        core::log::configure(core::log::Level::critical, core::log::Format::text);
        http::Routes routes;
        routes.get("/ok", {}, [&]() -> core::Task<Response> {
            log.push_back("route");
            co_return Response::json(200, "{}");
        });
        routes.get("/fails", {}, [&]() -> core::Task<Response> {
            log.push_back("route");
            throw http::HttpError{404, "nothing here", {}};
        });
        app.include(routes.take());
    }
    std::vector<std::string> log;
    http::App app;
    http::TestClient client{app, nullptr};
};

TEST_F(Chain, BeforeInOrderAfterInReverseOnEveryAnswer) {
    app.use(std::make_shared<Recorder>("a", log));
    app.use(std::make_shared<Recorder>("b", log));
    EXPECT_EQ(client.get("/ok").status, 200);
    EXPECT_EQ(log, (std::vector<std::string>{"a.before", "b.before", "route", "b.after 200",
                                             "a.after 200"}));
    log.clear();
    // An error the route raises and a path no route has: the middleware see the answer.
    EXPECT_EQ(client.get("/fails").status, 404);
    EXPECT_EQ(log, (std::vector<std::string>{"a.before", "b.before", "route", "b.after 404",
                                             "a.after 404"}));
    log.clear();
    const auto r = client.get("/nowhere");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(log,
              (std::vector<std::string>{"a.before", "b.before", "b.after 404", "a.after 404"}));
}

TEST_F(Chain, AMiddlewareThatAnswersStopsTheRequestAndTheOuterOnesSeeItsAnswer) {
    app.use(std::make_shared<Recorder>("outer", log));
    app.use(std::make_shared<Recorder>("gate", log, 429));
    app.use(std::make_shared<Recorder>("inner", log));
    const auto r = client.get("/ok");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.body, R"({"detail":"gate"})");
    EXPECT_EQ(log, (std::vector<std::string>{"outer.before", "gate.before", "gate.after 429",
                                             "outer.after 429"}));
}

TEST_F(Chain, AnErrorRaisedInAMiddlewareIsAnAnswerToo) {
    app.use(std::make_shared<Recorder>("outer", log));
    app.use(std::make_shared<Throws>());
    const auto r = client.get("/ok");
    EXPECT_EQ(r.status, 418);
    EXPECT_EQ(log, (std::vector<std::string>{"outer.before", "outer.after 418"}));
}

TEST_F(Chain, WithoutMiddlewareTheRouteAnswersAsItIs) {
    const auto r = client.get("/ok");
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.headers.find("x-request-id"));
    EXPECT_EQ(log, (std::vector<std::string>{"route"}));
}

TEST(TrustedProxies, AddressesNetworksAndEverything) {
    const http::TrustedProxies p("127.0.0.1, 10.0.0.0/8,  2001:db8::/32 ,::1");
    for (const char* yes :
         {"127.0.0.1", "10.0.0.1", "10.255.255.255", "2001:db8:1::5", "::1", "::ffff:10.1.2.3"})
        EXPECT_TRUE(p.trusts(yes)) << yes;
    for (const char* no : {"127.0.0.2", "11.0.0.1", "9.255.255.255", "2001:db9::1", "::2", "",
                           "testclient", "10.0.0.1x"})
        EXPECT_FALSE(p.trusts(no)) << no;
    EXPECT_TRUE(http::TrustedProxies("*").trusts("203.0.113.9"));
    EXPECT_FALSE(http::TrustedProxies("").trusts("127.0.0.1"));
    EXPECT_TRUE(http::TrustedProxies("192.168.1.0/23").trusts("192.168.0.200"));
    EXPECT_FALSE(http::TrustedProxies("192.168.1.0/24").trusts("192.168.0.200"));
    EXPECT_TRUE(http::TrustedProxies("0.0.0.0/0").trusts("8.8.8.8"));
    for (const char* bad : {"localhost", "10.0.0.0/33", "10.0.0.0/", "::1/129", "1.2.3.4/x"})
        EXPECT_THROW(http::TrustedProxies{bad}, std::invalid_argument) << bad;
}

// The client and scheme the rest of the chain sees, from the headers a proxy sets.
class Proxies : public Chain {
  protected:
    Proxies() {
        app.use(
            std::make_shared<http::ProxyHeaders>(http::TrustedProxies("127.0.0.1, 10.0.0.0/8")));
        app.use(std::make_shared<Seen>(seen));
    }
    struct Seen final : http::Middleware {
        explicit Seen(std::vector<std::string>& out) : out(out) {}
        std::optional<Response> before(RequestContext& ctx) const override {
            out.push_back(ctx.client + " " + ctx.scheme);
            return std::nullopt;
        }
        std::vector<std::string>& out;
    };
    std::string from(std::string peer, http::TestClient::HeaderList headers) {
        client.set_remote_address(std::move(peer));
        seen.clear();
        client.get("/ok", headers);
        return seen.at(0);
    }
    std::vector<std::string> seen;
};

TEST_F(Proxies, ATrustedProxyIsBelieved) {
    EXPECT_EQ(
        from("127.0.0.1", {{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-Proto", "https"}}),
        "203.0.113.9 https");
    // Several hops: the nearest that is not one of ours is the client (what our first proxy saw);
    // what the client wrote itself further left is not believed.
    EXPECT_EQ(from("127.0.0.1", {{"X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.0.0.3"}}),
              "198.51.100.7 http");
    EXPECT_EQ(from("10.0.0.3", {{"X-Forwarded-For", "10.0.0.4, 10.0.0.5"}}), "10.0.0.4 http");
    EXPECT_EQ(from("127.0.0.1", {}), "127.0.0.1 http");
    // Not an address: ignored.
    EXPECT_EQ(
        from("127.0.0.1", {{"X-Forwarded-For", "evil\"line"}, {"X-Forwarded-Proto", "gopher"}}),
        "127.0.0.1 http");
}

TEST_F(Proxies, AForgedHeaderFromAnyoneElseChangesNothing) {
    EXPECT_EQ(
        from("203.0.113.50", {{"X-Forwarded-For", "127.0.0.1"}, {"X-Forwarded-Proto", "https"}}),
        "203.0.113.50 http");
    EXPECT_EQ(from("::1", {{"X-Forwarded-For", "198.51.100.1"}}), "::1 http");
}

// The service: its failed-login limit counts the client a trusted proxy names, and only then.
class ServiceBehindAProxy : public testing_support::ApiTest {
  protected:
    ServiceBehindAProxy()
        : ApiTest({{"LOGIN_MAX_FAILURES", "1000"},
                   {"LOGIN_MAX_FAILURES_PER_CLIENT", "2"},
                   {"FORWARDED_ALLOW_IPS", "127.0.0.1"}}) {}
    int bad_login(const std::string& peer, const std::string& forwarded_for) {
        client.set_remote_address(peer);
        return client
            .post_form("/auth/token", "username=nobody@example.com&password=wrong-password",
                       {{"X-Forwarded-For", forwarded_for}})
            .status;
    }
};

TEST_P(ServiceBehindAProxy, TheLoginLimitCountsTheForwardedClientOnlyFromATrustedProxy) {
    EXPECT_EQ(bad_login("127.0.0.1", "198.51.100.1"), 401);
    EXPECT_EQ(bad_login("127.0.0.1", "198.51.100.1"), 401);
    EXPECT_EQ(bad_login("127.0.0.1", "198.51.100.1"), 429);
    EXPECT_EQ(bad_login("127.0.0.1", "198.51.100.2"), 401);  // another client behind the proxy
    // From an untrusted peer the header is the client's own word: every attempt is the peer's.
    EXPECT_EQ(bad_login("203.0.113.5", "198.51.100.3"), 401);
    EXPECT_EQ(bad_login("203.0.113.5", "198.51.100.4"), 401);
    EXPECT_EQ(bad_login("203.0.113.5", "198.51.100.5"), 429);
}

TEST_P(ServiceBehindAProxy, EveryAnswerCarriesTheSecurityHeaders) {
    const auto token = user_token("headers@example.com");
    const auto bearer = http::TestClient::HeaderList{{"Authorization", "Bearer " + token}};
    std::vector<http::Response> answers = {client.get("/health"),
                                           client.get("/nope"),
                                           client.get("/users/me"),
                                           client.get("/users/me", bearer),
                                           client.get("/items/abc", bearer),
                                           client.post("/items/", "{}", bearer)};
    for (const auto& r : answers) {
        SCOPED_TRACE(std::to_string(r.status) + " " + r.body);
        EXPECT_EQ(*r.headers.find("x-content-type-options"), "nosniff");
        EXPECT_EQ(*r.headers.find("referrer-policy"), "no-referrer");
        EXPECT_EQ(*r.headers.find("x-frame-options"), "DENY");
        EXPECT_EQ(*r.headers.find("content-security-policy"),
                  "default-src 'none'; frame-ancestors 'none'");
        EXPECT_EQ(*r.headers.find("server"), "items-api");
        EXPECT_EQ(r.headers.find("x-request-id")->size(), 32u);
        EXPECT_FALSE(r.headers.find("strict-transport-security"));
    }
    // Answers to requests with credentials are never stored; others are left alone.
    EXPECT_FALSE(answers[0].headers.find("cache-control"));
    for (std::size_t i = 3; i < answers.size(); ++i)
        EXPECT_EQ(*answers[i].headers.find("cache-control"), "no-store");
}

TEST_P(ServiceBehindAProxy, HstsOnlyWhenATrustedProxySaysTheRequestCameOverHttps) {
    client.set_remote_address("127.0.0.1");
    const auto https = client.get("/health", {{"X-Forwarded-Proto", "https"}});
    EXPECT_EQ(*https.headers.find("strict-transport-security"), "max-age=31536000");
    EXPECT_FALSE(client.get("/health", {{"X-Forwarded-Proto", "http"}})
                     .headers.find("strict-transport-security"));
    client.set_remote_address("203.0.113.5");
    EXPECT_FALSE(client.get("/health", {{"X-Forwarded-Proto", "https"}})
                     .headers.find("strict-transport-security"));
}

INSTANTIATE_TEST_SUITE_P(Backends, ServiceBehindAProxy,
                         ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

TEST(Settings, ABadForwardedAllowIpsIsASettingError) {
    testing_support::FreshDatabase fresh("sqlite");
    try {
        testing_support::ServiceUnderTest sut(fresh.url(),
                                              {{"FORWARDED_ALLOW_IPS", "127.0.0.1, proxy.local"}});
        FAIL() << "expected a SettingsError";
    } catch (const config::SettingsError& e) {
        EXPECT_EQ(e.setting(), "FORWARDED_ALLOW_IPS");
        EXPECT_NE(std::string(e.what()).find("proxy.local"), std::string::npos) << e.what();
    }
}

// CORS: preflights and the headers of answers, per origin (the browser's side is in
// tests/web/cors.mjs).
class Cors : public testing_support::ApiTest {
  protected:
    Cors()
        : ApiTest({{"CORS_ORIGINS", "http://app.example, http://localhost:5173/"},
                   {"CORS_ALLOW_CREDENTIALS", "true"}}) {}
    http::Response preflight(const std::string& origin, const std::string& method,
                             const std::string& headers = "") {
        http::TestClient::HeaderList h{{"Origin", origin},
                                       {"Access-Control-Request-Method", method}};
        if (!headers.empty()) h.emplace_back("Access-Control-Request-Headers", headers);
        return client.request("OPTIONS", "/items/", {}, h);
    }
    static std::string header(const http::Response& r, std::string_view name) {
        const std::string* v = r.headers.find(name);
        return v ? *v : "(none)";
    }
};

TEST_P(Cors, AnAllowedPreflightIsAnsweredWithWhatIsAllowed) {
    const auto r = preflight("http://app.example", "POST", "Authorization, Content-Type");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(header(r, "access-control-allow-origin"), "http://app.example");
    EXPECT_EQ(header(r, "access-control-allow-credentials"), "true");
    EXPECT_EQ(header(r, "access-control-allow-methods"), "GET, POST, PUT, PATCH, DELETE");
    EXPECT_EQ(header(r, "access-control-allow-headers"),
              "authorization, content-type, x-request-id");
    EXPECT_EQ(header(r, "access-control-max-age"), "600");
    EXPECT_EQ(header(r, "vary"), "Origin");
    EXPECT_EQ(header(r, "x-content-type-options"), "nosniff");  // the rest of the chain still ran
    EXPECT_EQ(preflight("http://localhost:5173", "DELETE").status,
              204);  // the trailing / of the setting
}

TEST_P(Cors, ADisallowedPreflightGetsNoCorsHeaders) {
    for (const auto& [r, why] :
         {std::pair{preflight("http://evil.example", "POST"), "origin"},
          std::pair{preflight("http://app.example.evil", "GET"), "origin"},
          std::pair{preflight("https://app.example", "GET"), "origin"},
          std::pair{preflight("http://app.example", "TRACE"), "method"},
          std::pair{preflight("http://app.example", "POST", "X-Evil"), "headers"}}) {
        EXPECT_EQ(r.status, 400) << why;
        EXPECT_EQ(r.body, std::string(R"({"detail":"Disallowed CORS )") + why + "\"}");
        EXPECT_EQ(header(r, "access-control-allow-origin"), "(none)");
        EXPECT_EQ(header(r, "access-control-allow-credentials"), "(none)");
    }
    // An OPTIONS that is not a preflight is the router's: no route has OPTIONS.
    EXPECT_EQ(client.request("OPTIONS", "/items/", {}, {{"Origin", "http://app.example"}}).status,
              405);
}

TEST_P(Cors, AnswersToAnAllowedOriginCarryTheHeadersErrorsIncluded) {
    const http::TestClient::HeaderList from_app{{"Origin", "http://app.example"}};
    for (const auto& r : {client.get("/health", from_app), client.get("/users/me", from_app),
                          client.post("/auth/register", "{}", from_app)}) {
        SCOPED_TRACE(r.status);
        EXPECT_EQ(header(r, "access-control-allow-origin"), "http://app.example");
        EXPECT_EQ(header(r, "access-control-allow-credentials"), "true");
        EXPECT_EQ(header(r, "access-control-expose-headers"),
                  "X-Request-ID, Retry-After, RateLimit, RateLimit-Policy, Link, X-Total-Count");
        EXPECT_EQ(header(r, "vary"), "Origin");
    }
    const auto other = client.get("/health", {{"Origin", "http://evil.example"}});
    EXPECT_EQ(other.status, 200);  // answered: it is the browser that keeps it from the page
    EXPECT_EQ(header(other, "access-control-allow-origin"), "(none)");
    EXPECT_EQ(header(other, "access-control-expose-headers"), "(none)");
    EXPECT_EQ(header(other, "vary"), "Origin");
    EXPECT_EQ(header(client.get("/health"), "access-control-allow-origin"), "(none)");
}

INSTANTIATE_TEST_SUITE_P(Backends, Cors, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

TEST(CorsSettings, AnyOriginWithoutCredentialsIsAStarAndCorsIsOffByDefault) {
    testing_support::FreshDatabase fresh("sqlite");
    {
        testing_support::ServiceUnderTest sut(fresh.url(),
                                              {{"CORS_ORIGINS", "*"}, {"CORS_ALLOW_HEADERS", "*"}});
        auto pre =
            sut.client->request("OPTIONS", "/items/", {},
                                {{"Origin", "http://any.example"},
                                 {"Access-Control-Request-Method", "PATCH"},
                                 {"Access-Control-Request-Headers", "X-Custom, Authorization"}});
        EXPECT_EQ(pre.status, 204);
        EXPECT_EQ(*pre.headers.find("access-control-allow-origin"), "*");
        EXPECT_EQ(*pre.headers.find("access-control-allow-headers"), "x-custom, authorization");
        EXPECT_FALSE(pre.headers.find("access-control-allow-credentials"));
        EXPECT_FALSE(pre.headers.find("vary"));
        EXPECT_EQ(*sut.client->get("/health", {{"Origin", "http://any.example"}})
                       .headers.find("access-control-allow-origin"),
                  "*");
    }
    {
        testing_support::ServiceUnderTest sut(fresh.url(), {});
        EXPECT_FALSE(sut.client->get("/health", {{"Origin", "http://app.example"}})
                         .headers.find("access-control-allow-origin"));
        EXPECT_EQ(sut.client
                      ->request("OPTIONS", "/items/", {},
                                {{"Origin", "http://app.example"},
                                 {"Access-Control-Request-Method", "GET"}})
                      .status,
                  405);
    }
}

TEST(CorsSettings, BadValuesNameTheirSetting) {
    testing_support::FreshDatabase fresh("sqlite");
    const std::vector<std::pair<config::Environment, std::string>> cases = {
        {{{"CORS_ORIGINS", "*"}, {"CORS_ALLOW_CREDENTIALS", "true"}}, "CORS_ALLOW_CREDENTIALS"},
        {{{"CORS_ORIGINS", "http://app.example/path"}}, "CORS_ORIGINS"},
        {{{"CORS_ORIGINS", "app.example"}}, "CORS_ORIGINS"},
        {{{"CORS_ORIGINS", "http://a.example"}, {"CORS_ALLOW_METHODS", "GET, PO ST"}},
         "CORS_ALLOW_METHODS"},
        {{{"CORS_ORIGINS", "http://a.example"}, {"CORS_ALLOW_HEADERS", "X(1)"}},
         "CORS_ALLOW_HEADERS"},
        {{{"CORS_ORIGINS", "http://a.example"}, {"CORS_EXPOSE_HEADERS", "a b"}},
         "CORS_EXPOSE_HEADERS"},
        {{{"CORS_ALLOW_CREDENTIALS", "maybe"}}, "CORS_ALLOW_CREDENTIALS"},
        {{{"CORS_MAX_AGE", "-1"}}, "CORS_MAX_AGE"},
    };
    for (const auto& [env, setting] : cases) {
        try {
            testing_support::ServiceUnderTest sut(fresh.url(), env);
            ADD_FAILURE() << "expected a SettingsError for " << setting;
        } catch (const config::SettingsError& e) {
            EXPECT_EQ(e.setting(), setting) << e.what();
        }
    }
}

}  // namespace
