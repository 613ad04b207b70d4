#include <gtest/gtest.h>

#include "http/message.hpp"
#include "http/router.hpp"

namespace {

using http::Router;
using Kind = Router::Match::Kind;

Router sample() {
    Router r;
    r.add("GET", "/users/me", 0);
    r.add("DELETE", "/users/me", 1);
    r.add("GET", "/users/{user_id}", 2);
    r.add("GET", "/items/", 3);
    r.add("POST", "/items/", 4);
    r.add("GET", "/items/{item_id}", 5);
    r.add("PATCH", "/items/{item_id}", 6);
    r.add("GET", "/", 7);
    return r;
}

TEST(Router, StaticSegmentWinsOverParameter) {
    auto m = sample().match("GET", "/users/me");
    EXPECT_EQ(m.kind, Kind::found);
    EXPECT_EQ(m.route, 0u);
    EXPECT_TRUE(m.params.empty());
}

TEST(Router, ParameterCapturesSegment) {
    const Router router = sample();  // parameter names point into the router
    auto m = router.match("GET", "/users/42");
    ASSERT_EQ(m.kind, Kind::found);
    EXPECT_EQ(m.route, 2u);
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].first, "user_id");
    EXPECT_EQ(m.params[0].second, "42");
}

TEST(Router, TrailingSlashIsTheSameRoute) {
    EXPECT_EQ(sample().match("GET", "/items").route, 3u);
    EXPECT_EQ(sample().match("GET", "/items/").route, 3u);
    EXPECT_EQ(sample().match("GET", "/items/7/").route, 5u);
    EXPECT_EQ(sample().match("GET", "/").route, 7u);
}

TEST(Router, UnknownPathIsNotFound) {
    EXPECT_EQ(sample().match("GET", "/nope").kind, Kind::not_found);
    EXPECT_EQ(sample().match("GET", "/items/1/2").kind, Kind::not_found);
    EXPECT_EQ(sample().match("GET", "//items").kind, Kind::not_found);
    EXPECT_EQ(sample().match("GET", "items").kind, Kind::not_found);
}

TEST(Router, KnownPathWrongMethodListsAllowedMethods) {
    auto m = sample().match("PUT", "/items/3");
    EXPECT_EQ(m.kind, Kind::method_not_allowed);
    EXPECT_EQ(m.allow, "GET, HEAD, PATCH");
    EXPECT_EQ(sample().match("POST", "/users/me").allow, "DELETE, GET, HEAD");
}

// RFC 9110 section 9.3.2: HEAD is GET without the body, which the server leaves out.
TEST(Router, HeadIsServedByTheGetRouteUnlessThereIsAHeadRoute) {
    auto m = sample().match("HEAD", "/items/7");
    ASSERT_EQ(m.kind, Kind::found);
    EXPECT_EQ(m.route, 5u);
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].second, "7");
    Router r;
    r.add("GET", "/a", 0);
    r.add("HEAD", "/a", 1);
    r.add("POST", "/b", 2);
    EXPECT_EQ(r.match("HEAD", "/a").route, 1u);
    EXPECT_EQ(r.match("PUT", "/a").allow, "GET, HEAD");
    EXPECT_EQ(r.match("HEAD", "/b").kind, Kind::method_not_allowed);
    EXPECT_EQ(r.match("HEAD", "/b").allow, "POST");
    EXPECT_EQ(r.match("GET", "/b").allow, "POST");
}

TEST(Router, AMatchOfPathAndMethodAnywhereWins) {
    Router r;
    r.add("GET", "/users/me", 0);
    r.add("PATCH", "/users/{user_id}", 1);
    auto m = r.match("PATCH", "/users/me");
    EXPECT_EQ(m.kind, Kind::found);
    EXPECT_EQ(m.route, 1u);
}

TEST(Router, RejectsDuplicatesAndMalformedPatterns) {
    Router r;
    r.add("GET", "/a/{x}", 0);
    EXPECT_THROW(r.add("GET", "/a/{x}/", 1), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{y}", 1), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/b{c", 1), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "a", 1), std::invalid_argument);
}

TEST(Message, TargetIsSplitAndPathDecoded) {
    http::Request req;
    req.set_target("/items/a%20b?q=1+2&x=%zz");
    EXPECT_EQ(req.path, "/items/a b");
    EXPECT_EQ(req.query, "q=1+2&x=%zz");
    EXPECT_EQ(http::percent_decode("1+2%2B%zz%4", true), "1 2+%zz%4");
}

// RFC 9112 section 3.2.2: a server must accept the absolute form, which proxies send.
TEST(Message, AnAbsoluteFormTargetIsItsPathAndQuery) {
    http::Request req;
    req.set_target("http://api.example:8000/items/a%20b?skip=1");
    EXPECT_EQ(req.path, "/items/a b");
    EXPECT_EQ(req.query, "skip=1");
    req.set_target("HTTPS://api.example");
    EXPECT_EQ(req.path, "/");
    EXPECT_EQ(req.query, "");
    req.set_target("http://api.example?x=1");
    EXPECT_EQ(req.path, "/");
    EXPECT_EQ(req.query, "x=1");
    req.set_target("/http://not-absolute");
    EXPECT_EQ(req.path, "/http://not-absolute");
}

TEST(Message, HeadersAreCaseInsensitive) {
    http::Headers h;
    h.add("Content-Type", "a");
    h.set("content-type", "b");
    ASSERT_NE(h.find("CONTENT-TYPE"), nullptr);
    EXPECT_EQ(*h.find("CONTENT-TYPE"), "b");
    EXPECT_EQ(h.find("x"), nullptr);
}

}  // namespace
