#include "api/deps.hpp"
#include "api/models.hpp"
#include "api/routes.hpp"
#include "api/users_repository.hpp"

namespace api {

using core::Task;
using http::Body;
using http::Form;

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

    routes.post("/token", {.summary = "Login", .responses = {unauthorized_response("Incorrect email or password")}},
                [](Form<LoginForm> form, Db db, Passwords passwords, Tokens tokens, LoginGuard guard) -> Task<Token> {
                    // The username normalized as registration stores e-mails, if it is one.
                    const std::string email = schema::normalized_email(form->username).value_or(form->username);
                    auto attempt = guard.reserve(email);
                    const auto user = co_await users::find_for_login(*db, email, form->username);
                    // An unknown e-mail is checked against a dummy hash: the answer takes as
                    // long as for a known one.
                    bool ok = false;
                    if (user)
                        ok = co_await passwords.verify(*user, form->password);
                    else
                        co_await passwords.verify_dummy(form->password);
                    if (!ok || !user) {
                        attempt.failed();
                        throw unauthorized("Incorrect email or password");
                    }
                    attempt.succeeded();
                    if (security::needs_rehash(user->hashed_password, form->password)) {  // a bcrypt hash of the original's
                        auto rehashed = co_await passwords.hash(form->password);
                        co_await users::set_password_hash(*db, user->id, std::move(rehashed));
                    }
                    co_return Token{tokens->issue(user->id.value, user->token_version), "bearer"};
                });

    return routes;
}

}  // namespace api
