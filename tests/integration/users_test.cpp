// /users/me, /users/{user_id}, DELETE /users/me, and what every protected route shares.

#include "api/items_repository.hpp"
#include "api_support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class Users : public ApiTest {};

// The original's test_protected_route_without_token.
TEST_P(Users, ProtectedRouteWithoutTokenIs401NotAuthenticated) {
    const auto r = client.get("/users/me");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Not authenticated"})");
    ASSERT_NE(r.headers.find("www-authenticate"), nullptr);
    EXPECT_EQ(*r.headers.find("www-authenticate"), "Bearer");
}

TEST_P(Users, AnotherSchemeIsNotAuthenticated) {
    const auto r = client.get("/users/me", {{"Authorization", "Basic dXNlcjpwYXNz"}});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Not authenticated"})");
}

TEST_P(Users, ATamperedTokenIsRefused) {
    std::string token = user_token("a@example.com");
    token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
    const auto r = client.get("/users/me", bearer(token));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})");
    EXPECT_EQ(*r.headers.find("www-authenticate"), "Bearer");
    EXPECT_EQ(client.get("/users/me", bearer("not.a.token")).status, 401);
}

TEST_P(Users, AuthenticationComesBeforeValidation) {
    // As FastAPI resolves dependencies first: no token is 401 even with a bad body.
    EXPECT_EQ(client.post("/items/", "{not json").status, 401);
}

TEST_P(Users, MeShowsTheUserWithTheirItems) {
    const auto token = user_token("a@example.com");
    client.post("/items/", R"({"title": "one"})", bearer(token));
    client.post("/items/", R"({"title": "two", "description": "2"})", bearer(token));
    const auto r = client.get("/users/me", bearer(token));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"email":"a@example.com","id":1,"is_active":true,"items":[)"
                      R"({"title":"one","description":null,"id":1,"owner_id":1},)"
                      R"({"title":"two","description":"2","id":2,"owner_id":1}]})");
}

// More items than one batch: /users/me streams them (a batch at a time, read after the
// last one sent). The document is the same, byte for byte, as the one built whole: the
// user's fields and every item, as GET /items/ encodes them, in order.
TEST_P(Users, MeWithManyItemsIsTheSameDocumentWhateverTheirNumber) {
    const auto token = user_token("many@example.com");
    const auto other = user_token("other@example.com");
    client.post("/items/", R"({"title": "not mine"})", bearer(other));
    // 999, 1000 and 1001 items: the first batch, exactly it, and one item more (streamed).
    // 2000 and 2600: the next batches (250 items) ending full, and a part of one. Titles
    // with what JSON escapes.
    static_assert(api::items::kFirstBatchSize == 1000 && api::items::kNextBatchSize == 250);
    int count = 0;
    for (const int total : {999, 1000, 1001, 2000, 2600}) {
        sql("WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < " +
            std::to_string(total - count) +
            ") INSERT INTO items (title, description, owner_id) "
            "SELECT 'item \"' || n || '\" é\\', CASE WHEN n % 3 = 0 THEN NULL ELSE 'line\nbreak' END, 1 FROM g");
        count = total;
        std::string expected = R"({"email":"many@example.com","id":1,"is_active":true,"items":[)";
        std::string sep;
        for (std::string next = "/items/?limit=100"; !next.empty();) {
            const auto page = client.get(next, bearer(token));
            ASSERT_EQ(page.status, 200);
            ASSERT_GE(page.body.size(), 2u);
            if (page.body != "[]") {
                expected += sep + page.body.substr(1, page.body.size() - 2);
                sep = ",";
            }
            const std::string* link = page.headers.find("Link");
            next = link ? link->substr(1, link->find('>') - 1) : "";
        }
        expected += "]}";
        const auto me = client.get("/users/me", bearer(token));
        ASSERT_EQ(me.status, 200) << total;
        EXPECT_EQ(me.body.size(), expected.size()) << total;
        EXPECT_TRUE(me.body == expected) << total << " items: the documents differ";
        EXPECT_EQ(body(me).at("items").as_array().size(), static_cast<std::size_t>(total));
    }
}

TEST_P(Users, ReadUserById) {
    const auto token = user_token("a@example.com");
    register_user("b@example.com");
    const auto r = client.get("/users/2", bearer(token));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"email":"b@example.com","id":2,"is_active":true})");
}

TEST_P(Users, UnknownUserIs404) {
    const auto token = user_token("a@example.com");
    const auto r = client.get("/users/999", bearer(token));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"detail":"User not found"})");
    EXPECT_EQ(client.get("/users/99999999999", bearer(token)).status, 404) << "beyond a 32-bit id";
}

TEST_P(Users, NonNumericUserIdIs422) {
    const auto token = user_token("a@example.com");
    const auto r = client.get("/users/abc", bearer(token));
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("loc"), json::parse(R"(["path","user_id"])"));
}

TEST_P(Users, ReadUserNeedsAToken) { EXPECT_EQ(client.get("/users/1").status, 401); }

TEST_P(Users, DeletingAUserDeletesTheirItemsAndInvalidatesTheirToken) {
    const auto token = user_token("a@example.com");
    const auto other = user_token("b@example.com");
    client.post("/items/", R"({"title": "mine"})", bearer(token));
    client.post("/items/", R"({"title": "theirs"})", bearer(other));

    const auto r = client.del("/users/me", bearer(token));
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(r.body.empty());

    const auto after = client.get("/users/me", bearer(token));
    EXPECT_EQ(after.status, 401);
    EXPECT_EQ(after.body, R"({"detail":"Could not validate credentials"})");
    EXPECT_EQ(sql("SELECT COUNT(*) FROM items").rows.at(0).get<std::int64_t>(0), 1);
    EXPECT_EQ(client.get("/items/", bearer(other)).body, R"([{"title":"theirs","description":null,"id":2,"owner_id":2}])");
    EXPECT_EQ(login("a@example.com").status, 401);
}

TEST_P(Users, AnInactiveUsersTokenIsRefused) {
    const auto token = user_token("a@example.com");
    sql("UPDATE users SET is_active = $1", {false});
    const auto r = client.get("/users/me", bearer(token));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})");
}

INSTANTIATE_TEST_SUITE_P(Backends, Users, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
