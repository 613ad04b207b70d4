#include "api/deps.hpp"

#include <boost/json/array.hpp>

#include "core/log.hpp"
#include "core/unicode.hpp"

namespace api {

AppContext::AppContext(const config::Settings& s)
    : settings(s),
      tokens(s.secret_key, s.algorithm, std::chrono::minutes(s.access_token_expire_minutes), s.jwt_audience),
      hasher(s.hash_threads, s.hash_queue, s.hash_nice, "items-hash"),
      login_limiter({s.login_max_failures, s.login_max_failures_per_client, s.login_failure_window}) {}

ThreadState& state_of(const http::RequestContext& ctx) {
    // Checked: a route of this service served with another worker state (a test's, a
    // second application's) is a programming error, said plainly rather than undefined.
    auto* state = dynamic_cast<ThreadState*>(ctx.worker);
    if (!state) throw std::logic_error("this service's routes need its ThreadState (api::Service::worker_init)");
    return *state;
}

core::Task<std::string> Passwords::hash(std::string password) const {
    co_return co_await state->app->hasher.hash(*state->loop, std::move(password));
}

bool CostlyHashes::first_report(UserId user) {
    std::lock_guard lock(mutex_);
    return reported_.insert(user.value).second;
}

core::Task<bool> Passwords::verify(const users::UserRecord& user, std::string password) const {
    if (const auto why = security::excessive_cost(user.hashed_password);
        !why.empty() && state->app->costly_hashes.first_report(user.id))
        core::log::warn("a stored password hash costs too much to verify; its logins fail until the password is reset",
                        {{"user_id", user.id.value}, {"reason", why}});
    co_return co_await state->app->hasher.verify(*state->loop, std::move(password), user.hashed_password);
}

core::Task<bool> Passwords::verify_dummy(std::string password) const {
    co_return co_await state->app->hasher.verify_dummy(*state->loop, std::move(password));
}

LoginLimiter::Attempt LoginGuard::reserve(std::string_view account) const {
    auto reserved = limiter->reserve(core::utf8_lower(account), client);
    if (auto* wait = std::get_if<std::chrono::seconds>(&reserved)) {
        http::HttpError e{429, "Too many failed login attempts; try again later", {}};
        e.headers.set("retry-after", std::to_string(wait->count()));
        throw e;
    }
    return std::move(std::get<LoginLimiter::Attempt>(reserved));
}

void LoginGuard::extract(http::RequestContext& ctx, LoginGuard& out, schema::Errors&) {
    out.limiter = &state_of(ctx).app->login_limiter;
    out.client = ctx.client;
}

http::HttpError unauthorized(std::string detail) {
    http::HttpError e{401, std::move(detail), {}};
    e.headers.set("www-authenticate", "Bearer");
    return e;
}

http::HttpError invalid_credentials() {
    return unauthorized("Could not validate credentials");
}

namespace {

// What the request's bearer token says; 401 as the original's get_current_user when there
// is no valid one. As OAuth2PasswordBearer: no header, or another scheme, is "Not
// authenticated".
security::AccessClaims token_claims(const http::RequestContext& ctx) {
    const std::string* header = ctx.request.headers.find("authorization");
    std::string_view value = header ? std::string_view(*header) : std::string_view();
    const auto space = value.find(' ');
    if (!header || !http::iequals(value.substr(0, space), "bearer")) throw unauthorized("Not authenticated");
    std::string_view token = space == std::string_view::npos ? std::string_view() : value.substr(space + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);

    const auto claims = state_of(ctx).app->tokens.verify(token);
    if (!claims) throw invalid_credentials();
    return *claims;
}

}  // namespace

core::Task<CurrentUser> CurrentUser::resolve(http::RequestContext& ctx) {
    const auto claims = token_claims(ctx);
    const UserId id{claims.user_id};
    auto user = co_await users::find_principal(*state_of(ctx).database, id);
    if (!user || !user->is_active || user->token_version != claims.version) throw invalid_credentials();
    co_return CurrentUser{id, std::move(user->email), user->is_active, user->is_superuser};
}

core::Task<Superuser> Superuser::resolve(http::RequestContext& ctx) {
    auto user = co_await CurrentUser::resolve(ctx);
    if (!user.is_superuser) throw http::HttpError{403, "The user doesn't have enough privileges", {}};
    co_return Superuser{std::move(user)};
}

void Superuser::document(boost::json::object& operation, schema::Definitions& defs) {
    CurrentUser::document(operation, defs);
    http::add_response(operation, defs, {403, "The user is not a superuser"});
}

void CurrentUser::document(boost::json::object& operation, schema::Definitions& defs) {
    operation["security"] = boost::json::array{boost::json::object{{"OAuth2PasswordBearer", boost::json::array{}}}};
    http::add_response(operation, defs,
                       unauthorized_response("Not authenticated, or the token is invalid, expired, or names a user "
                                             "who is gone or inactive"));
}

http::DocumentedResponse unauthorized_response(std::string description) {
    return {401, std::move(description), {{"WWW-Authenticate", "Bearer"}}};
}

namespace {
// What api/service.cpp's overload_errors answers.
http::DocumentedResponse unavailable_response(std::string description) {
    return {503, std::move(description), {{"Retry-After", "Seconds to wait before retrying"}}};
}
}  // namespace

void Db::document(boost::json::object& operation, schema::Definitions& defs) {
    http::add_response(operation, defs, unavailable_response("Service Unavailable: the database is down or saturated"));
}

void Passwords::document(boost::json::object& operation, schema::Definitions& defs) {
    http::add_response(operation, defs, unavailable_response("too many passwords are being hashed at once"));
}

void LoginGuard::document(boost::json::object& operation, schema::Definitions& defs) {
    http::add_response(operation, defs,
                       {429,
                        "Too many failed logins from this client or for this account lately",
                        {{"Retry-After", "Seconds to wait before retrying"}}});
}

}  // namespace api
