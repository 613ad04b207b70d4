#include <chrono>

#include "api/deps.hpp"
#include "api/models.hpp"
#include "api/refresh_tokens_repository.hpp"
#include "api/routes.hpp"
#include "api/users_repository.hpp"
#include "security/refresh_tokens.hpp"

namespace api {

using core::Task;
using http::Body;
using http::Form;

namespace {

// POST /auth/token's form: OAuth2's password grant (LoginForm, as the original's), or its
// refresh grant (RFC 6749 section 6: grant_type=refresh_token), which OAuth2 client
// libraries send to the token endpoint. Documented as the original documents the form.
struct TokenForm {
    std::optional<LoginForm> password;
    std::optional<RefreshForm> refresh;

    static void extract(http::RequestContext& ctx, TokenForm& out, schema::Errors& e) {
        const auto fields = http::detail::form_fields(ctx.request);
        auto in = e.at("body");
        bool refresh = false;
        for (const auto& [name, value] : fields) refresh = refresh || (name == "grant_type" && value == "refresh_token");
        if (refresh)
            schema::decode_text_fields(fields, out.refresh.emplace(), e, true);
        else
            schema::decode_text_fields(fields, out.password.emplace(), e, true);
    }
    static void document(boost::json::object& op, schema::Definitions& defs) { Form<LoginForm>::document(op, defs); }
};

// The tokens of a login or a refresh: an access token under the user's token version, and
// the refresh token given.
Token token_for(const Tokens& tokens, UserId user, std::int64_t token_version, std::string refresh_token) {
    return Token{tokens->issue(user.value, token_version), "bearer", std::move(refresh_token),
                 std::chrono::duration_cast<std::chrono::seconds>(tokens->lifetime()).count()};
}

std::int64_t refresh_expiry(const Settings& settings, std::int64_t now) {
    return now + std::int64_t{settings->refresh_token_expire_days} * 86400;
}

// A refresh token rotated: the user's new tokens; 401 when it is not live (and, when it
// was rotated before, its family revoked).
Task<Token> refreshed(Db db, Tokens tokens, Settings settings, const std::string& presented) {
    const std::int64_t now = refresh_tokens::unix_now();
    std::string next = security::new_refresh_token();
    const refresh_tokens::Successor successor{security::refresh_token_digest(next), refresh_expiry(settings, now)};
    const auto holder = co_await refresh_tokens::rotate(*db, security::refresh_token_digest(presented), successor, now);
    if (!holder) throw invalid_credentials();
    co_return token_for(tokens, holder->user, holder->token_version, std::move(next));
}

const http::DocumentedResponse bad_refresh_token{401, "The refresh token is unknown, expired, revoked or reused"};

}  // namespace

http::Routes auth_routes() {
    http::Routes routes("/auth", {"auth"});

    routes.post("/register", {.summary = "Register", .status = 201, .responses = {{400, "Email already registered"}}},
                [](Body<UserCreate> in, Db db, Passwords passwords) -> Task<UserRead> {
                    // Checked first so that a taken e-mail costs no hashing; the unique
                    // index still decides when two registrations race.
                    if (co_await users::find_by_email(*db, in->email))
                        throw http::HttpError{400, "Email already registered", {}};
                    auto hash = co_await passwords.hash(in->password);
                    auto user = co_await users::create(*db, in->email, std::move(hash));
                    if (!user) throw http::HttpError{400, "Email already registered", {}};
                    co_return UserRead{user->email, user->id.value, user->is_active};
                });

    // Beyond the original: a refresh token with the access token, which starts a family.
    routes.post("/token", {.summary = "Login", .responses = {unauthorized_response("Incorrect email or password")}},
                [](TokenForm form, Db db, Passwords passwords, Tokens tokens, Settings settings,
                   LoginGuard guard) -> Task<Token> {
                    if (form.refresh) co_return co_await refreshed(db, tokens, settings, form.refresh->refresh_token);
                    const LoginForm& login = *form.password;
                    // The username normalized as registration stores e-mails, if it is one.
                    const std::string email = schema::normalized_email(login.username).value_or(login.username);
                    auto attempt = guard.reserve(email);
                    const auto user = co_await users::find_for_login(*db, email, login.username);
                    // An unknown e-mail is checked against a dummy hash: the answer takes as
                    // long as for a known one.
                    bool ok = false;
                    if (user)
                        ok = co_await passwords.verify(*user, login.password);
                    else
                        co_await passwords.verify_dummy(login.password);
                    if (!ok || !user) {
                        attempt.failed();
                        throw unauthorized("Incorrect email or password");
                    }
                    attempt.succeeded();
                    if (security::needs_rehash(user->hashed_password, login.password)) {  // a bcrypt hash of the original's
                        auto rehashed = co_await passwords.hash(login.password);
                        co_await users::set_password_hash(*db, user->id, std::move(rehashed));
                    }
                    const std::int64_t now = refresh_tokens::unix_now();
                    std::string refresh = security::new_refresh_token();
                    co_await refresh_tokens::store(*db, user->id, security::refresh_token_digest(refresh),
                                                   security::new_token_family(), refresh_expiry(settings, now), now);
                    co_return token_for(tokens, user->id, user->token_version, std::move(refresh));
                });

    // Beyond the original: a refresh token for new tokens. Each is good once: presenting
    // one that was used already revokes every token of its family (reuse detection).
    routes.post("/refresh", {.summary = "Refresh Tokens", .responses = {bad_refresh_token}},
                [](Body<RefreshRequest> in, Db db, Tokens tokens, Settings settings) -> Task<Token> {
                    co_return co_await refreshed(db, tokens, settings, in->refresh_token);
                });

    // The refresh token's family revoked: that login's session ends. An unknown token is
    // answered the same (RFC 7009 section 2.2).
    routes.post("/logout", {.summary = "Logout", .status = 204},
                [](Body<RefreshRequest> in, Db db) -> Task<void> {
                    co_await refresh_tokens::revoke_family(*db, security::refresh_token_digest(in->refresh_token),
                                                           refresh_tokens::unix_now());
                });

    return routes;
}

}  // namespace api
