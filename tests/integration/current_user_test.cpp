// Every route that needs a user answers 401, and changes nothing, when the token's user
// is gone or inactive, whatever the method and whatever else is wrong with the request.
// The routes are taken from the router: a protected route added later is covered too.

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "api_support.hpp"

namespace {

using testing_support::ApiTest;

class CurrentUserCheck : public ApiTest {
protected:
    // Every row of both tables, as text: what "changes nothing" compares.
    std::vector<std::string> snapshot() {
        std::vector<std::string> rows;
        for (const char* q : {"SELECT 'user ' || id || ' ' || email || ' ' || hashed_password || ' ' || "
                              "CASE WHEN is_active THEN 'active' ELSE 'inactive' END FROM users ORDER BY id",
                              "SELECT 'item ' || id || ' ' || title || ' ' || COALESCE(description, '-') || ' ' || "
                              "owner_id FROM items ORDER BY id"}) {
            for (auto& row : sql(q).rows) rows.push_back(row.get<std::string>(0));
        }
        return rows;
    }

    // The protected routes, with their path parameters filled in: `item` and `user`.
    std::vector<std::pair<std::string, std::string>> protected_routes(const std::string& item, const std::string& user) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& route : sut.service.app().routes()) {
            schema::Definitions defs;
            if (!route.info.describe || !route.info.describe(defs).contains("security")) continue;
            std::string path = route.info.path;
            for (auto [name, value] : {std::pair{"{item_id}", item}, std::pair{"{user_id}", user}}) {
                if (auto at = path.find(name); at != std::string::npos) path.replace(at, std::strlen(name), value);
            }
            out.emplace_back(route.info.method, path);
        }
        return out;
    }

    void expect_every_route_refused(const std::string& token, const std::string& item, const std::string& user) {
        const auto before = snapshot();
        const auto routes = protected_routes(item, user);
        auto headers = bearer(token);
        headers.emplace_back("Content-Type", "application/json");
        std::set<std::string> methods;
        for (const auto& [method, path] : routes) {
            methods.insert(method);
            // A valid body, an invalid one, and none: the 401 wins over any 422.
            for (const char* sent : {R"({"title": "changed", "description": "changed"})", R"({"title": ""})", ""}) {
                const auto r = client.request(method, path, sent, headers);
                EXPECT_EQ(r.status, 401) << method << ' ' << path << ' ' << sent << ": " << r.body;
                EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})") << method << ' ' << path;
                EXPECT_EQ(r.headers.find("www-authenticate") ? *r.headers.find("www-authenticate") : "", "Bearer");
            }
        }
        EXPECT_EQ(methods, (std::set<std::string>{"GET", "POST", "PATCH", "DELETE"}));
        EXPECT_GE(routes.size(), 8u);
        EXPECT_EQ(snapshot(), before);
    }

    // A user with an item, and another user with one: returns the first one's token.
    std::string seeded(std::string& item, std::string& user) {
        const auto token = user_token("gone@example.com");
        const auto other = user_token("other@example.com");
        const auto created = client.post("/items/", R"({"title": "mine", "description": "d"})", bearer(token));
        EXPECT_EQ(created.status, 201);
        item = std::to_string(body(created).at("id").as_int64());
        user = std::to_string(body(created).at("owner_id").as_int64());
        EXPECT_EQ(client.post("/items/", R"({"title": "theirs"})", bearer(other)).status, 201);
        return token;
    }
};

TEST_P(CurrentUserCheck, AnInactiveUserIs401OnEveryProtectedRouteAndChangesNothing) {
    std::string item, user;
    const auto token = seeded(item, user);
    sql("UPDATE users SET is_active = $1 WHERE email = $2", {false, std::string("gone@example.com")});
    expect_every_route_refused(token, item, user);
}

TEST_P(CurrentUserCheck, ADeletedUserIs401OnEveryProtectedRouteAndChangesNothing) {
    std::string item, user;
    const auto token = seeded(item, user);
    EXPECT_EQ(client.del("/users/me", bearer(token)).status, 204);
    expect_every_route_refused(token, item, user);
}

TEST_P(CurrentUserCheck, TheSameRoutesServeTheUserWhileActive) {
    std::string item, user;
    const auto token = seeded(item, user);
    sql("UPDATE users SET is_superuser = $1 WHERE email = $2", {true, std::string("gone@example.com")});  // the admin routes'
    auto headers = bearer(token);
    headers.emplace_back("Content-Type", "application/json");
    // A body each route takes (unknown fields are ignored); the password change last, as it
    // ends the token.
    const std::map<std::string, std::string> bodies{
        {"POST /users/", R"({"email": "made@example.com", "password": "secret123"})"},
        {"PATCH /users/me/password", R"({"current_password": "secret123", "new_password": "changed-password"})"}};
    auto routes = protected_routes(item, user);
    std::stable_partition(routes.begin(), routes.end(), [](const auto& r) { return r.second != "/users/me/password"; });
    for (const auto& [method, path] : routes) {
        if (method == "DELETE") continue;  // would end the user or the item
        const auto body = bodies.find(method + " " + path);
        const auto r = client.request(method, path, body != bodies.end() ? body->second : R"({"title": "changed"})", headers);
        EXPECT_LT(r.status, 300) << method << ' ' << path << ": " << r.body;
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, CurrentUserCheck, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
