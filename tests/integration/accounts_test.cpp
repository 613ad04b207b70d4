// Accounts beyond the original, as the FastAPI full-stack template has them: the user's own
// e-mail and password, and a superuser's admin routes under /users/.

#include "api_support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

// "2026-12-08T03:04:05Z"
bool rfc3339_utc_seconds(std::string_view t) {
    const std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
    if (t.size() != shape.size()) return false;
    for (std::size_t i = 0; i < t.size(); ++i)
        if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != shape[i]) return false;
    return true;
}

class Accounts : public ApiTest {
protected:
    // A registered user made a superuser (as FIRST_SUPERUSER or `users create` would);
    // returns their token.
    std::string superuser_token(const std::string& email = "admin@example.com") {
        EXPECT_EQ(register_user(email).status, 201);
        sql("UPDATE users SET is_superuser = $1 WHERE email = $2", {true, email});
        return std::string(body(login(email)).at("access_token").as_string());
    }
    std::int64_t id_of(const std::string& email) {
        return sql("SELECT id FROM users WHERE email = $1", {email}).rows.at(0).get<std::int64_t>(0);
    }
};

TEST_P(Accounts, AUserChangesTheirEmailNormalizedAndUnique) {
    const auto token = user_token("a@example.com");
    register_user("taken@example.com");
    auto r = client.patch("/users/me", R"({"email": "New@EXAMPLE.com"})", bearer(token));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"email":"New@example.com","id":1,"is_active":true})");
    EXPECT_EQ(login("New@example.com").status, 200);
    EXPECT_EQ(login("a@example.com").status, 401);

    r = client.patch("/users/me", R"({"email": "TAKEN@example.com"})", bearer(token));
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.body, R"({"detail":"Email already registered"})");
    // Nothing sent, nothing changed; a bad address is Pydantic's 422.
    EXPECT_EQ(client.patch("/users/me", "{}", bearer(token)).body, R"({"email":"New@example.com","id":1,"is_active":true})");
    EXPECT_EQ(client.patch("/users/me", R"({"email": "not an address"})", bearer(token)).status, 422);
    EXPECT_EQ(client.patch("/users/me", R"({"email": "x@example.com"})").status, 401);
}

TEST_P(Accounts, APasswordChangeChecksTheCurrentOneAndEndsOlderTokens) {
    const auto token = user_token("a@example.com", "first-password");
    auto r = client.patch("/users/me/password", R"({"current_password": "wrong-password", "new_password": "second-password"})",
                          bearer(token));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"detail":"Incorrect password"})");
    r = client.patch("/users/me/password", R"({"current_password": "first-password", "new_password": "first-password"})",
                     bearer(token));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"detail":"New password cannot be the same as the current one"})");
    EXPECT_EQ(client.patch("/users/me/password", R"({"current_password": "first-password", "new_password": "short"})",
                           bearer(token))
                  .status,
              422);
    EXPECT_EQ(client.get("/users/me", bearer(token)).status, 200) << "nothing changed yet";

    r = client.patch("/users/me/password", R"({"current_password": "first-password", "new_password": "second-password"})",
                     bearer(token));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"message":"Password updated successfully"})");
    // The token used, issued before the change, no longer verifies; a new login does.
    r = client.get("/users/me", bearer(token));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})");
    EXPECT_EQ(login("a@example.com", "first-password").status, 401);
    const auto fresh = login("a@example.com", "second-password");
    ASSERT_EQ(fresh.status, 200);
    EXPECT_EQ(client.get("/users/me", bearer(std::string(body(fresh).at("access_token").as_string()))).status, 200);
}

// A token of the original (no "ver" claim) works until the user's first password change.
TEST_P(Accounts, TheOriginalsTokensWorkUntilAPasswordChange) {
    const auto token = user_token("a@example.com");
    const auto& codec = static_cast<api::ThreadState*>(client.worker())->app->tokens;
    const auto original = codec.issue(1);  // version 0: no "ver", as python-jose's
    EXPECT_EQ(client.get("/users/me", bearer(original)).status, 200);
    ASSERT_EQ(client.patch("/users/me/password", R"({"current_password": "secret123", "new_password": "another-one"})",
                           bearer(token))
                  .status,
              200);
    EXPECT_EQ(client.get("/users/me", bearer(original)).status, 401);
}

TEST_P(Accounts, TheAdminRoutesAreASuperusersOnly) {
    const auto token = user_token("a@example.com");
    for (const auto& [method, target, payload] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"GET", "/users/", ""},
             {"POST", "/users/", R"({"email": "b@example.com", "password": "secret123"})"},
             {"PATCH", "/users/1", R"({"is_superuser": true})"},
             {"DELETE", "/users/1", ""}}) {
        const auto r = client.request(method, target, payload, {{"Authorization", "Bearer " + token},
                                                                {"Content-Type", "application/json"}});
        EXPECT_EQ(r.status, 403) << method << ' ' << target;
        EXPECT_EQ(r.body, R"({"detail":"The user doesn't have enough privileges"})");
        EXPECT_EQ(client.request(method, target, payload, {{"Content-Type", "application/json"}}).status, 401);
    }
    EXPECT_EQ(sql("SELECT is_superuser FROM users WHERE id = 1").rows.at(0).get<bool>(0), false);
}

TEST_P(Accounts, ASuperuserPagesThroughUsersWithTheirCountAndALink) {
    const auto admin = superuser_token();
    for (int i = 1; i <= 4; ++i) register_user("user" + std::to_string(i) + "@example.com");
    auto r = client.get("/users/?limit=2", bearer(admin));
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_NE(r.headers.find("x-total-count"), nullptr);
    EXPECT_EQ(*r.headers.find("x-total-count"), "5");
    ASSERT_NE(r.headers.find("link"), nullptr);
    EXPECT_EQ(*r.headers.find("link"), R"(</users/?limit=2&after=2>; rel="next")");
    const auto page = body(r).as_array();
    ASSERT_EQ(page.size(), 2u);
    const auto& first = page.at(0).as_object();
    EXPECT_EQ(first.at("email"), "admin@example.com");
    EXPECT_EQ(first.at("id"), 1);
    EXPECT_EQ(first.at("is_active"), true);
    EXPECT_EQ(first.at("is_superuser"), true);
    EXPECT_TRUE(rfc3339_utc_seconds(first.at("created_at").as_string())) << first.at("created_at");
    EXPECT_EQ(page.at(1).at("is_superuser"), false);
    // Following the links reaches every user once; the last page has no link.
    r = client.get("/users/?limit=2&after=2", bearer(admin));
    EXPECT_EQ(body(r).as_array().at(0).at("email"), "user2@example.com");
    r = client.get("/users/?limit=2&after=4", bearer(admin));
    EXPECT_EQ(body(r).as_array().size(), 1u);
    EXPECT_EQ(r.headers.find("link"), nullptr);
    EXPECT_EQ(body(client.get("/users/?skip=4", bearer(admin))).as_array().size(), 1u);
    EXPECT_EQ(client.get("/users/?limit=101", bearer(admin)).status, 422);
}

TEST_P(Accounts, ASuperuserCreatesUsers) {
    const auto admin = superuser_token();
    auto r = client.post("/users/", R"({"email": "Made@EXAMPLE.com", "password": "secret123", "is_superuser": true})",
                         bearer(admin));
    ASSERT_EQ(r.status, 201) << r.body;
    auto made = body(r).as_object();
    EXPECT_EQ(made.at("email"), "Made@example.com");
    EXPECT_EQ(made.at("is_active"), true);
    EXPECT_EQ(made.at("is_superuser"), true);
    EXPECT_TRUE(made.at("created_at").is_string());
    EXPECT_EQ(login("made@example.com").status, 200);

    r = client.post("/users/", R"({"email": "made@example.com", "password": "secret123"})", bearer(admin));
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.body, R"({"detail":"Email already registered"})");
    r = client.post("/users/", R"({"email": "off@example.com", "password": "secret123", "is_active": false})",
                    bearer(admin));
    ASSERT_EQ(r.status, 201);
    EXPECT_EQ(body(r).at("is_active"), false);
    EXPECT_EQ(body(r).at("is_superuser"), false);
    EXPECT_EQ(client.post("/users/", R"({"email": "b@example.com", "password": "short"})", bearer(admin)).status, 422);
    EXPECT_EQ(sql("SELECT COUNT(*) FROM users").rows.at(0).get<std::int64_t>(0), 3);
}

TEST_P(Accounts, ASuperuserUpdatesUsers) {
    const auto admin = superuser_token();
    const auto token = user_token("a@example.com");
    register_user("b@example.com");
    const auto a = std::to_string(id_of("a@example.com"));

    auto r = client.patch("/users/" + a, R"({"email": "A2@Example.com", "is_superuser": true})", bearer(admin));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body(r).at("email"), "A2@example.com");
    EXPECT_EQ(body(r).at("is_superuser"), true);
    EXPECT_EQ(client.get("/users/me", bearer(token)).status, 200) << "no new password: the token stays good";

    r = client.patch("/users/" + a, R"({"password": "reset-by-admin"})", bearer(admin));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(client.get("/users/me", bearer(token)).status, 401) << "a new password ends older tokens";
    EXPECT_EQ(login("a2@example.com", "reset-by-admin").status, 200);

    r = client.patch("/users/" + a, R"({"email": "b@example.com"})", bearer(admin));
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.body, R"({"detail":"Email already registered"})");
    r = client.patch("/users/999", R"({"is_active": false})", bearer(admin));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"detail":"User not found"})");
    EXPECT_EQ(client.patch("/users/" + a, R"({"is_active": "maybe"})", bearer(admin)).status, 422);

    // Not their own rights away.
    for (const char* change : {R"({"is_superuser": false})", R"({"is_active": false})"}) {
        r = client.patch("/users/1", change, bearer(admin));
        EXPECT_EQ(r.status, 403) << change;
        EXPECT_EQ(r.body, R"({"detail":"Super users are not allowed to demote themselves"})");
    }
    EXPECT_EQ(client.patch("/users/1", R"({"is_superuser": true})", bearer(admin)).status, 200);
    // Another superuser may.
    r = client.patch("/users/1", R"({"is_superuser": false})",
                     bearer(std::string(body(login("a2@example.com", "reset-by-admin")).at("access_token").as_string())));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(client.get("/users/", bearer(admin)).status, 403);
}

TEST_P(Accounts, ASuperuserDeletesUsersWithTheirItemsButNotThemself) {
    const auto admin = superuser_token();
    const auto token = user_token("a@example.com");
    client.post("/items/", R"({"title": "mine"})", bearer(token));
    client.post("/items/", R"({"title": "the admin's"})", bearer(admin));
    const auto a = std::to_string(id_of("a@example.com"));

    auto r = client.del("/users/" + a, bearer(admin));
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(sql("SELECT COUNT(*) FROM items").rows.at(0).get<std::int64_t>(0), 1);
    EXPECT_EQ(client.get("/users/me", bearer(token)).status, 401);
    r = client.del("/users/" + a, bearer(admin));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"detail":"User not found"})");

    for (const std::string target : {"/users/1", "/users/me"}) {
        r = client.del(target, bearer(admin));
        EXPECT_EQ(r.status, 403) << target;
        EXPECT_EQ(r.body, R"({"detail":"Super users are not allowed to delete themselves"})");
    }
    EXPECT_EQ(client.get("/users/me", bearer(admin)).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, Accounts, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

// The current-password check counts as a login: its failures reach LOGIN_MAX_FAILURES.
class AccountsWithLoginLimits : public ApiTest {
protected:
    AccountsWithLoginLimits() : ApiTest({{"LOGIN_MAX_FAILURES", "2"}, {"LOGIN_MAX_FAILURES_PER_CLIENT", "1000"}}) {}
};

TEST_P(AccountsWithLoginLimits, WrongCurrentPasswordsAreFailedLogins) {
    const auto token = user_token("a@example.com");
    const std::string wrong = R"({"current_password": "wrong-password", "new_password": "another-one"})";
    EXPECT_EQ(client.patch("/users/me/password", wrong, bearer(token)).status, 400);
    EXPECT_EQ(client.patch("/users/me/password", wrong, bearer(token)).status, 400);
    const auto r = client.patch("/users/me/password", wrong, bearer(token));
    EXPECT_EQ(r.status, 429);
    EXPECT_NE(r.headers.find("retry-after"), nullptr);
    EXPECT_EQ(login("a@example.com").status, 429) << "the account's failures are the login's";
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsWithLoginLimits, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
