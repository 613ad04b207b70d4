// Refresh tokens (beyond the original): handed out at login, rotated at each use, a reused
// one revoking its family, revoked at logout and by a new password, stored as digests.

#include "api_support.hpp"
#include "security/refresh_tokens.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class RefreshTokens : public ApiTest {
protected:
    // Registers and logs in: the login's body.
    json::object session(const std::string& email = "a@example.com", const std::string& password = "secret123") {
        register_user(email, password);
        const auto r = login(email, password);
        EXPECT_EQ(r.status, 200) << r.body;
        return body(r).as_object();
    }
    http::Response refresh(const std::string& token) {
        return client.post("/auth/refresh", json::serialize(json::object{{"refresh_token", token}}));
    }
    static std::string text(const json::value& v) { return std::string(v.as_string()); }

    // `n` POST /auth/refresh of `token` started at once on the client's loop: their statuses.
    std::vector<int> refreshes_at_once(const std::string& token, int n) {
        std::vector<http::Request> requests(static_cast<std::size_t>(n));
        std::vector<int> statuses;
        for (auto& req : requests) {
            req.method = "POST";
            req.set_target("/auth/refresh");
            req.headers.add("content-type", "application/json");
            req.body = json::serialize(json::object{{"refresh_token", token}});
            core::spawn([](http::App& a, http::Request& r, http::WorkerState* w, std::vector<int>& out) -> core::Task<void> {
                out.push_back((co_await a.handle(r, w)).status);
            }(sut.service.app(), req, client.worker(), statuses),
                        [](std::exception_ptr) {});
        }
        for (int i = 0; i < 4000 && statuses.size() < requests.size(); ++i) {
            client.poll();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return statuses;
    }
};

TEST_P(RefreshTokens, ALoginHandsOutARefreshTokenStoredOnlyAsItsDigest) {
    const auto tokens = session();
    EXPECT_EQ(tokens.at("token_type"), "bearer");
    EXPECT_EQ(tokens.at("expires_in"), 30 * 60);
    const std::string refresh_token = text(tokens.at("refresh_token"));
    EXPECT_EQ(refresh_token.size(), 43u);
    const auto stored = sql("SELECT token_hash, family, expires_at - $1 FROM refresh_tokens",
                            {std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()});
    ASSERT_EQ(stored.rows.size(), 1u);
    EXPECT_EQ(stored.rows[0].get<std::string>(0), security::refresh_token_digest(refresh_token));
    EXPECT_EQ(stored.rows[0].get<std::string>(0).find_first_not_of("0123456789abcdef"), std::string::npos);
    const auto lifetime = stored.rows[0].get<std::int64_t>(2);
    EXPECT_NEAR(static_cast<double>(lifetime), 30.0 * 86400, 5.0) << "REFRESH_TOKEN_EXPIRE_DAYS' default";
    // Another login, another family.
    const auto again = body(login("a@example.com")).as_object();
    EXPECT_NE(again.at("refresh_token"), tokens.at("refresh_token"));
    EXPECT_EQ(sql("SELECT COUNT(DISTINCT family) FROM refresh_tokens").rows[0].get<std::int64_t>(0), 2);
}

TEST_P(RefreshTokens, ARefreshRotatesAndAReusedTokenRevokesItsFamily) {
    const auto first = session();
    const auto other_login = body(login("a@example.com")).as_object();  // another family of the user
    auto r = refresh(text(first.at("refresh_token")));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto second = body(r).as_object();
    EXPECT_NE(second.at("refresh_token"), first.at("refresh_token"));
    EXPECT_EQ(second.at("expires_in"), 30 * 60);
    EXPECT_EQ(client.get("/users/me", bearer(text(second.at("access_token")))).status, 200);

    // The first again: reuse. Refused, and the token it was exchanged for dies with it.
    r = refresh(text(first.at("refresh_token")));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})");
    EXPECT_EQ(refresh(text(second.at("refresh_token"))).status, 401);
    // The user's other login is another family: untouched.
    EXPECT_EQ(refresh(text(other_login.at("refresh_token"))).status, 200);
    EXPECT_EQ(refresh("not-a-token").status, 401);
    EXPECT_EQ(client.post("/auth/refresh", "{}").status, 422);
}

// RFC 6749 section 6: what OAuth2 client libraries send to the token endpoint.
TEST_P(RefreshTokens, TheTokenEndpointTakesTheRefreshGrant) {
    const auto first = session();
    auto r = client.post_form("/auth/token", "grant_type=refresh_token&refresh_token=" + text(first.at("refresh_token")));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto second = body(r).as_object();
    EXPECT_EQ(client.get("/users/me", bearer(text(second.at("access_token")))).status, 200);
    r = client.post_form("/auth/token", "grant_type=refresh_token&refresh_token=" + text(first.at("refresh_token")));
    EXPECT_EQ(r.status, 401) << "used already";
    r = client.post_form("/auth/token", "grant_type=refresh_token");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("loc"), json::parse(R"(["body","refresh_token"])"));
    // The password grant is as it was: its fields are required.
    r = client.post_form("/auth/token", "grant_type=password");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("loc"), json::parse(R"(["body","username"])"));
}

TEST_P(RefreshTokens, LogoutRevokesTheFamily) {
    const auto first = session();
    const auto second = body(refresh(text(first.at("refresh_token")))).as_object();
    const auto logout =
        client.post("/auth/logout", json::serialize(json::object{{"refresh_token", second.at("refresh_token")}}));
    EXPECT_EQ(logout.status, 204);
    EXPECT_TRUE(logout.body.empty());
    EXPECT_EQ(refresh(text(second.at("refresh_token"))).status, 401);
    EXPECT_EQ(client.post("/auth/logout", R"({"refresh_token": "unknown"})").status, 204);
    EXPECT_EQ(client.post("/auth/logout", "{}").status, 422);
}

TEST_P(RefreshTokens, AnExpiredTokenIsRefused) {
    const auto first = session();
    sql("UPDATE refresh_tokens SET expires_at = $1", {std::int64_t{1}});
    EXPECT_EQ(refresh(text(first.at("refresh_token"))).status, 401);
}

TEST_P(RefreshTokens, ANewPasswordRevokesTheUsersRefreshTokens) {
    const auto first = session();
    const auto r = client.patch("/users/me/password", R"({"current_password": "secret123", "new_password": "another-one"})",
                                bearer(text(first.at("access_token"))));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(refresh(text(first.at("refresh_token"))).status, 401);
    // A login with the new password starts afresh.
    const auto fresh = body(login("a@example.com", "another-one")).as_object();
    EXPECT_EQ(refresh(text(fresh.at("refresh_token"))).status, 200);
}

TEST_P(RefreshTokens, AnInactiveUserCannotRefreshAndKeepsTheToken) {
    const auto first = session();
    sql("UPDATE users SET is_active = $1", {false});
    EXPECT_EQ(refresh(text(first.at("refresh_token"))).status, 401);
    sql("UPDATE users SET is_active = $1", {true});
    EXPECT_EQ(refresh(text(first.at("refresh_token"))).status, 200) << "not consumed, not taken for reuse";
}

TEST_P(RefreshTokens, FiftyParallelRefreshesOfOneTokenSucceedOnce) {
    const auto first = session();
    const auto statuses = refreshes_at_once(text(first.at("refresh_token")), 50);
    ASSERT_EQ(statuses.size(), 50u);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 401), 49);
    // The others were reuse: the family, the one success's successor included, is revoked.
    EXPECT_EQ(sql("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL").rows[0].get<std::int64_t>(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, RefreshTokens, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
