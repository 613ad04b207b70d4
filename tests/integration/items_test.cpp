// The five /items routes: the original's tests, every error, and the limits beyond it.

#include "api_support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class Items : public ApiTest {
protected:
    Items() : token(user_token("owner@example.com")) {}
    http::Response create(const std::string& json) { return client.post("/items/", json, bearer(token)); }
    std::string token;
};

// The original's test_create_and_list_items.
TEST_P(Items, CreateAndList) {
    const auto r = create(R"({"title": "Test Item", "description": "A test item"})");
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body, R"({"title":"Test Item","description":"A test item","id":1,"owner_id":1})");
    const auto list = client.get("/items/", bearer(token));
    EXPECT_EQ(list.status, 200);
    EXPECT_EQ(list.body, "[" + r.body + "]");
}

// The original's test_update_item_partial.
TEST_P(Items, PatchChangesOnlyTheFieldsSent) {
    create(R"({"title": "Original", "description": "Keep me"})");
    const auto r = client.patch("/items/1", R"({"title": "Updated"})", bearer(token));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"title":"Updated","description":"Keep me","id":1,"owner_id":1})");
    EXPECT_EQ(client.patch("/items/1", R"({"description": null})", bearer(token)).body,
              R"({"title":"Updated","description":null,"id":1,"owner_id":1})");
    EXPECT_EQ(client.patch("/items/1", "{}", bearer(token)).body,
              R"({"title":"Updated","description":null,"id":1,"owner_id":1})");
}

TEST_P(Items, DescriptionDefaultsToNull) {
    EXPECT_EQ(create(R"({"title": "t"})").body, R"({"title":"t","description":null,"id":1,"owner_id":1})");
}

TEST_P(Items, ReadOne) {
    create(R"({"title": "t"})");
    const auto r = client.get("/items/1", bearer(token));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"title":"t","description":null,"id":1,"owner_id":1})");
}

TEST_P(Items, DeleteIs204ThenNotFound) {
    create(R"({"title": "t"})");
    const auto r = client.del("/items/1", bearer(token));
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(client.get("/items/1", bearer(token)).status, 404);
    EXPECT_EQ(client.del("/items/1", bearer(token)).status, 404);
}

TEST_P(Items, UnknownItemIs404ForEveryRoute) {
    for (const auto& r : {client.get("/items/42", bearer(token)), client.patch("/items/42", R"({"title": "x"})", bearer(token)),
                          client.del("/items/42", bearer(token)), client.get("/items/99999999999", bearer(token))}) {
        EXPECT_EQ(r.status, 404);
        EXPECT_EQ(r.body, R"({"detail":"Item not found"})");
    }
}

TEST_P(Items, AnotherUsersItemIsNotFoundForReadPatchAndDelete) {
    create(R"({"title": "private"})");
    const auto other = user_token("other@example.com");
    for (const auto& r : {client.get("/items/1", bearer(other)), client.patch("/items/1", R"({"title": "mine now"})", bearer(other)),
                          client.del("/items/1", bearer(other))}) {
        EXPECT_EQ(r.status, 404);
        EXPECT_EQ(r.body, R"({"detail":"Item not found"})");
    }
    EXPECT_EQ(client.get("/items/", bearer(other)).body, "[]");
    EXPECT_EQ(client.get("/items/1", bearer(token)).body, R"({"title":"private","description":null,"id":1,"owner_id":1})")
        << "the owner's item is untouched";
}

TEST_P(Items, ListIsOwnItemsOrderedByIdWithSkipAndLimit) {
    const auto other = user_token("other@example.com");
    for (int i = 1; i <= 25; ++i) {
        create(R"({"title": "mine )" + std::to_string(i) + "\"}");
        client.post("/items/", R"({"title": "theirs"})", bearer(other));
    }
    const auto all = body(client.get("/items/", bearer(token))).as_array();
    EXPECT_EQ(all.size(), 20u) << "the default limit is 20";
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].at("owner_id"), 1);
        if (i) {
            EXPECT_LT(all[i - 1].at("id").as_int64(), all[i].at("id").as_int64());
        }
    }
    const auto page = body(client.get("/items/?skip=20&limit=10", bearer(token))).as_array();
    ASSERT_EQ(page.size(), 5u);
    EXPECT_EQ(page[0].at("title"), "mine 21");
    EXPECT_EQ(body(client.get("/items?limit=100", bearer(token))).as_array().size(), 25u);
    EXPECT_EQ(body(client.get("/items/?skip=1000", bearer(token))).as_array().size(), 0u);
}

TEST_P(Items, LimitAndSkipOutOfRangeAre422) {
    for (const auto& [query, field, type] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"limit=0", "limit", "greater_than_equal"},
             {"limit=101", "limit", "less_than_equal"},
             {"skip=-1", "skip", "greater_than_equal"},
             {"limit=ten", "limit", "int_parsing"}}) {
        const auto r = client.get("/items/?" + query, bearer(token));
        EXPECT_EQ(r.status, 422) << query;
        EXPECT_EQ(body(r).at("detail").at(0).at("loc"), (json::array{"query", json::string(field)})) << query;
        EXPECT_EQ(body(r).at("detail").at(0).at("type"), json::value(type)) << query;
    }
}

TEST_P(Items, TitleAndDescriptionLengthsAreChecked) {
    EXPECT_EQ(create(R"({"title": ""})").status, 422);
    EXPECT_EQ(create(R"({"title": ")" + std::string(256, 't') + "\"}").status, 422);
    EXPECT_EQ(create(R"({"title": ")" + std::string(255, 't') + "\"}").status, 201);
    EXPECT_EQ(create(R"({"title": "t", "description": ")" + std::string(10001, 'd') + "\"}").status, 422);
    EXPECT_EQ(create(R"({"title": "t", "description": ")" + std::string(10000, 'd') + "\"}").status, 201);
    create(R"({"title": "x"})");
    EXPECT_EQ(client.patch("/items/1", R"({"title": ""})", bearer(token)).status, 422);
    const auto r = create(R"({"title": ")" + std::string(256, 't') + "\"}");
    EXPECT_EQ(body(r).at("detail").at(0).at("type"), "string_too_long");
    EXPECT_EQ(body(r).at("detail").at(0).at("loc"), json::parse(R"(["body","title"])"));
}

TEST_P(Items, NullTitleInPatchIs422AndChangesNothing) {
    create(R"({"title": "keep"})");
    const auto r = client.patch("/items/1", R"({"title": null})", bearer(token));
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("loc"), json::parse(R"(["body","title"])"));
    EXPECT_EQ(body(client.get("/items/1", bearer(token))).at("title"), "keep");
}

TEST_P(Items, InvalidBodyAndPathErrorsAreCollected) {
    const auto r = client.patch("/items/abc", R"({"title": 5, "description": []})", bearer(token));
    EXPECT_EQ(r.status, 422);
    const auto detail = body(r).at("detail").as_array();
    ASSERT_EQ(detail.size(), 3u);
    EXPECT_EQ(detail[0].at("loc"), json::parse(R"(["path","item_id"])"));
    EXPECT_EQ(detail[1].at("loc"), json::parse(R"(["body","title"])"));
    EXPECT_EQ(detail[2].at("loc"), json::parse(R"(["body","description"])"));
}

TEST_P(Items, MalformedJsonIs422JsonInvalid) {
    const auto r = create(R"({"title": "x",)");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("type"), "json_invalid");
    EXPECT_EQ(sql("SELECT COUNT(*) FROM items").rows.at(0).get<std::int64_t>(0), 0) << "nothing half-written";
}

TEST_P(Items, TextIsStoredAsSent) {
    const std::string title = R"(quote " backslash \\ unicode é ✓ 'single'; DROP TABLE items;--)";
    const auto r = create(json::serialize(json::object{{"title", title}}));
    ASSERT_EQ(r.status, 201);
    EXPECT_EQ(body(client.get("/items/1", bearer(token))).at("title"), json::value(title));
}

TEST_P(Items, EveryRouteNeedsAToken) {
    for (const auto& r : {client.get("/items/"), client.post("/items/", R"({"title": "t"})"), client.get("/items/1"),
                          client.patch("/items/1", "{}"), client.del("/items/1")}) {
        EXPECT_EQ(r.status, 401);
        EXPECT_EQ(r.body, R"({"detail":"Not authenticated"})");
    }
}

// Gone or inactive users: current_user_test.cpp, for every protected route.

INSTANTIATE_TEST_SUITE_P(Backends, Items, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
