// The five /items routes: the original's tests, every error, and the limits beyond it.

#include <algorithm>
#include <set>

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

// Beyond the original: keyset paging. `after` is an item id; the page has the items with a
// greater id, and a Link (RFC 8288) to the next page when there is one.
class Paging : public Items {
protected:
    // The target of a `Link: <target>; rel="next"` header, or "" when there is none.
    static std::string next_of(const http::Response& r) {
        const std::string* link = r.headers.find("Link");
        if (!link) return "";
        const std::string suffix = ">; rel=\"next\"";
        EXPECT_TRUE(link->starts_with("<") && link->ends_with(suffix)) << *link;
        return link->substr(1, link->size() - 1 - suffix.size());
    }
    static std::vector<std::int64_t> ids_of(const http::Response& r) {
        std::vector<std::int64_t> ids;
        const auto items = body(r);
        for (const auto& item : items.as_array()) ids.push_back(item.at("id").as_int64());
        return ids;
    }
    std::int64_t create_id(const std::string& title) {
        const auto r = create(json::serialize(json::object{{"title", title}}));
        EXPECT_EQ(r.status, 201);
        return body(r).at("id").as_int64();
    }
};

TEST_P(Paging, FollowingLinkVisitsEveryItemOnceInOrderAndTheLastPageHasNone) {
    const auto other = user_token("other@example.com");
    std::vector<std::int64_t> mine;
    for (int i = 1; i <= 25; ++i) {
        mine.push_back(create_id("mine " + std::to_string(i)));
        client.post("/items/", R"({"title": "theirs"})", bearer(other));
    }
    auto first = client.get("/items/?limit=10", bearer(token));
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(*first.headers.find("Link"), "</items/?limit=10&after=" + std::to_string(mine[9]) + ">; rel=\"next\"");
    std::vector<std::int64_t> seen = ids_of(first);
    std::vector<std::size_t> sizes{seen.size()};
    for (std::string next = next_of(first); !next.empty();) {
        const auto page = client.get(next, bearer(token));
        ASSERT_EQ(page.status, 200) << next;
        const auto ids = ids_of(page);
        seen.insert(seen.end(), ids.begin(), ids.end());
        sizes.push_back(ids.size());
        next = next_of(page);
        ASSERT_LE(sizes.size(), 10u) << "the links do not end";
    }
    EXPECT_EQ(seen, mine);
    EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
}

TEST_P(Paging, AFullLastPageHasNoLinkAndNeitherHasAnEmptyOne) {
    std::vector<std::int64_t> mine;
    for (int i = 1; i <= 20; ++i) mine.push_back(create_id("item " + std::to_string(i)));
    const auto second = client.get("/items/?limit=10&after=" + std::to_string(mine[9]), bearer(token));
    EXPECT_EQ(ids_of(second), std::vector<std::int64_t>(mine.begin() + 10, mine.end()));
    EXPECT_EQ(second.headers.find("Link"), nullptr) << "nothing follows the 20th item";
    EXPECT_NE(client.get("/items/?limit=19", bearer(token)).headers.find("Link"), nullptr);
    EXPECT_EQ(client.get("/items/?limit=20", bearer(token)).headers.find("Link"), nullptr);
    const auto beyond = client.get("/items/?after=" + std::to_string(mine.back()), bearer(token));
    EXPECT_EQ(beyond.body, "[]");
    EXPECT_EQ(beyond.headers.find("Link"), nullptr);
    // Ids past PostgreSQL's 32-bit column find nothing rather than fail.
    EXPECT_EQ(client.get("/items/?after=9223372036854775807", bearer(token)).body, "[]");
}

TEST_P(Paging, SkipCountsFromAfterAndAnotherUsersIdsAreFine) {
    std::vector<std::int64_t> mine;
    for (int i = 1; i <= 8; ++i) mine.push_back(create_id("item " + std::to_string(i)));
    const auto r = client.get("/items/?after=" + std::to_string(mine[2]) + "&skip=2&limit=3", bearer(token));
    EXPECT_EQ(ids_of(r), (std::vector<std::int64_t>{mine[5], mine[6], mine[7]}));
    EXPECT_EQ(r.headers.find("Link"), nullptr);
    // `after` need not be one of the user's items: it is only a bound.
    const auto other = user_token("other@example.com");
    const auto theirs = body(client.post("/items/", R"({"title": "theirs"})", bearer(other))).at("id").as_int64();
    const auto mine_after = create_id("item 9");
    EXPECT_EQ(ids_of(client.get("/items/?after=" + std::to_string(theirs), bearer(token))),
              std::vector<std::int64_t>{mine_after});
    EXPECT_EQ(client.get("/items/?after=0", bearer(token)).body, client.get("/items/", bearer(token)).body);
}

TEST_P(Paging, AfterOutOfRangeIs422) {
    for (const auto& [query, type] : std::vector<std::pair<std::string, std::string>>{
             {"after=-1", "greater_than_equal"}, {"after=ten", "int_parsing"}, {"after=", "int_parsing"}}) {
        const auto r = client.get("/items/?" + query, bearer(token));
        EXPECT_EQ(r.status, 422) << query;
        EXPECT_EQ(body(r).at("detail").at(0).at("loc"), (json::array{"query", "after"})) << query;
        EXPECT_EQ(body(r).at("detail").at(0).at("type"), json::value(type)) << query;
    }
}

// Items added and deleted while a client pages: every item that is there from the first
// page to the last is seen exactly once, in order; none is seen twice; one deleted ahead
// of the client is not seen; one added meanwhile (a greater id: ahead) is.
TEST_P(Paging, WhileItemsAreAddedAndDeletedEveryLastingItemIsSeenOnce) {
    std::vector<std::int64_t> mine;
    for (int i = 1; i <= 30; ++i) mine.push_back(create_id("item " + std::to_string(i)));
    std::set<std::int64_t> deleted, added;
    std::vector<std::int64_t> seen;
    std::string next = "/items/?limit=7";
    for (int round = 0; !next.empty(); ++round) {
        const auto page = client.get(next, bearer(token));
        ASSERT_EQ(page.status, 200);
        for (auto id : ids_of(page)) seen.push_back(id);
        next = next_of(page);
        // Between pages: delete the next item ahead of the client; add one, three times.
        const std::int64_t position = seen.back();
        for (auto id : mine) {
            if (id > position && !deleted.contains(id)) {
                ASSERT_EQ(client.del("/items/" + std::to_string(id), bearer(token)).status, 204);
                deleted.insert(id);
                break;
            }
        }
        if (round < 3) added.insert(create_id("added " + std::to_string(round)));
        ASSERT_LE(round, 20) << "the links do not end";
    }
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()).size(), seen.size()) << "an item seen twice";
    for (auto id : mine) EXPECT_EQ(std::count(seen.begin(), seen.end(), id), deleted.contains(id) ? 0 : 1) << id;
    for (auto id : added) EXPECT_EQ(std::count(seen.begin(), seen.end(), id), 1) << "added ahead: " << id;
    EXPECT_FALSE(deleted.empty());
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

// Windows PowerShell and Notepad write one; RFC 8259 lets a parser ignore it, and the
// original's json.loads does.
TEST_P(Items, AJsonBodyMayBeginWithAByteOrderMark) {
    const auto r = create("\xEF\xBB\xBF" R"({"title": "From PowerShell"})");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(body(client.get("/items/1", bearer(token))).at("title"), "From PowerShell");
    const auto patched = client.patch("/items/1", "\xEF\xBB\xBF" R"({"description": "patched"})", bearer(token));
    EXPECT_EQ(patched.status, 200) << patched.body;
    EXPECT_EQ(create("\xEF\xBB\xBF\xEF\xBB\xBF{}").status, 422) << "one mark, not two";
    EXPECT_EQ(client.post("/auth/register", "\xEF\xBB\xBF" R"({"email": "bom@example.com", "password": "secret123"})")
                  .status,
              201);
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
INSTANTIATE_TEST_SUITE_P(Backends, Paging, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
