#pragma once
// What route handlers of this service may ask for besides their input, named once,
// as FastAPI's deps.py names SessionDep and CurrentUser:
//
//   [](Path<std::int64_t, "item_id"> id, CurrentUser user, Db db) -> Task<ItemRead>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "api/login_limiter.hpp"
#include "api/users_repository.hpp"
#include "config/settings.hpp"
#include "db/database.hpp"
#include "http/app.hpp"
#include "http/params.hpp"
#include "schema/codec.hpp"
#include "security/password.hpp"
#include "security/tokens.hpp"

namespace api {

// The users whose stored password hash was refused for its cost (security::excessive_cost):
// each is warned about once per process, not at every login.
class CostlyHashes {
public:
    // True the first time `user` is reported.
    bool first_report(UserId user);

private:
    std::mutex mutex_;
    std::unordered_set<std::int64_t> reported_;
};

// What the whole process shares: made once from the settings.
struct AppContext {
    explicit AppContext(const config::Settings& settings);

    config::Settings settings;
    security::TokenCodec tokens;
    security::PasswordHasher hasher;
    LoginLimiter login_limiter;
    CostlyHashes costly_hashes;
};

// Everything one event-loop thread owns for this service.
struct ThreadState final : http::WorkerState {
    AppContext* app = nullptr;  // shared by all threads; its members are thread-safe
    boost::asio::io_context* loop = nullptr;
    std::unique_ptr<db::Database> database;
};

ThreadState& state_of(const http::RequestContext& ctx);

// The thread's database: `[](Db db) -> Task<...> { co_await db->query(...); }`
struct Db {
    db::Database* database = nullptr;

    db::Database& operator*() const { return *database; }
    db::Database* operator->() const { return database; }

    static void extract(http::RequestContext& ctx, Db& out, schema::Errors&) {
        out.database = state_of(ctx).database.get();
    }
    static void document(boost::json::object& operation, schema::Definitions& defs);  // 503
};

// Password hashing on the hashing pool, resuming on this thread.
struct Passwords {
    ThreadState* state = nullptr;

    core::Task<std::string> hash(std::string password) const;
    // Checks `password` against `user`'s stored hash. A hash of excessive cost is not
    // checked: false, in a wrong password's time, with a warning logged once per user.
    core::Task<bool> verify(const users::UserRecord& user, std::string password) const;
    core::Task<bool> verify_dummy(std::string password) const;

    static void extract(http::RequestContext& ctx, Passwords& out, schema::Errors&) { out.state = &state_of(ctx); }
    static void document(boost::json::object& operation, schema::Definitions& defs);  // 503
};

// The process's settings: `[](Settings settings) { settings->health_timeout; }`
struct Settings {
    const config::Settings* settings = nullptr;
    const config::Settings* operator->() const { return settings; }
    static void extract(http::RequestContext& ctx, Settings& out, schema::Errors&) {
        out.settings = &state_of(ctx).app->settings;
    }
};

struct Tokens {
    const security::TokenCodec* codec = nullptr;
    const security::TokenCodec* operator->() const { return codec; }
    static void extract(http::RequestContext& ctx, Tokens& out, schema::Errors&) {
        out.codec = &state_of(ctx).app->tokens;
    }
};

// The client's address and the failed-login limiter it is counted in.
struct LoginGuard {
    LoginLimiter* limiter = nullptr;
    std::string client;

    // Reserves a login attempt on `account` (a normalized e-mail, compared without case) from this
    // client; throws 429 with Retry-After if either failed too often lately.
    LoginLimiter::Attempt reserve(std::string_view account) const;
    static void extract(http::RequestContext& ctx, LoginGuard& out, schema::Errors&);
    static void document(boost::json::object& operation, schema::Definitions& defs);  // 429
};

// The user the bearer token names, existing and active, the token issued under their
// current token version (none since a password change); otherwise 401, as the original's
// get_current_user. Resolved before the handler runs, whatever the method.
struct CurrentUser {
    UserId id;
    std::string email;
    bool is_active = true;
    bool is_superuser = false;

    static core::Task<CurrentUser> resolve(http::RequestContext& ctx);
    static void document(boost::json::object& operation, schema::Definitions& defs);
};

// The current user, a superuser; otherwise 403 (after CurrentUser's 401).
struct Superuser {
    CurrentUser user;

    static core::Task<Superuser> resolve(http::RequestContext& ctx);
    static void document(boost::json::object& operation, schema::Definitions& defs);
};

// 401 with WWW-Authenticate: Bearer.
http::HttpError unauthorized(std::string detail);
// The same, for an operation's document.
http::DocumentedResponse unauthorized_response(std::string description);
// The 401 of a token whose user is unknown, gone or inactive.
http::HttpError invalid_credentials();

}  // namespace api
