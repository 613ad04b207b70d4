#include "api/deps.hpp"

#include <boost/json/array.hpp>

#include "core/unicode.hpp"

namespace api {

AppContext::AppContext(const config::Settings& s)
    : settings(s),
      tokens(s.secret_key, s.algorithm, std::chrono::minutes(s.access_token_expire_minutes)),
      hasher(s.hash_threads, s.hash_queue, s.hash_nice),
      login_limiter({s.login_max_failures, s.login_max_failures_per_client, s.login_failure_window}) {}

ThreadState& state_of(const http::RequestContext& ctx) { return *static_cast<ThreadState*>(ctx.worker); }

core::Task<std::string> Passwords::hash(std::string password) const {
    co_return co_await state->app->hasher.hash(*state->loop, std::move(password));
}

core::Task<bool> Passwords::verify(std::string password, std::string hash) const {
    co_return co_await state->app->hasher.verify(*state->loop, std::move(password), std::move(hash));
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
    out.client = ctx.request.remote_address;
}

http::HttpError unauthorized(std::string detail) {
    http::HttpError e{401, std::move(detail), {}};
    e.headers.set("www-authenticate", "Bearer");
    return e;
}

http::HttpError invalid_credentials() { return unauthorized("Could not validate credentials"); }

namespace {

// The user id of the request's bearer token; 401 as the original's get_current_user
// when there is no valid one. As OAuth2PasswordBearer: no header, or another scheme, is
// "Not authenticated".
std::int64_t token_subject(const http::RequestContext& ctx) {
    const std::string* header = ctx.request.headers.find("authorization");
    std::string_view value = header ? std::string_view(*header) : std::string_view();
    const auto space = value.find(' ');
    if (!header || !http::iequals(value.substr(0, space), "bearer")) throw unauthorized("Not authenticated");
    std::string_view token = space == std::string_view::npos ? std::string_view() : value.substr(space + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);

    const auto id = state_of(ctx).app->tokens.verify(token);
    if (!id) throw invalid_credentials();
    return *id;
}

void document_bearer(boost::json::object& operation) {
    operation["security"] = boost::json::array{boost::json::object{{"OAuth2PasswordBearer", boost::json::array{}}}};
}

}  // namespace

core::Task<CurrentUser> CurrentUser::resolve(http::RequestContext& ctx) {
    const std::int64_t id = token_subject(ctx);
    CurrentUser me{id, core::start(users::find_by_id(*state_of(ctx).database, id))};
    if (ctx.request.method != "GET") co_await me.finalize();
    co_return me;
}

core::Task<users::UserRecord> CurrentUser::user() const {
    auto user = co_await lookup;
    if (!user || !user->is_active) throw invalid_credentials();
    co_return std::move(*user);
}

core::Task<void> CurrentUser::finalize() const { co_await user(); }

void CurrentUser::document(boost::json::object& operation, schema::Definitions&) { document_bearer(operation); }

core::Task<TokenUser> TokenUser::resolve(http::RequestContext& ctx) {
    co_return TokenUser{token_subject(ctx), state_of(ctx).database.get()};
}

core::Task<void> TokenUser::check_unhandled() const {
    const auto user = co_await users::find_by_id(*database, id);
    if (!user || !user->is_active) throw invalid_credentials();
}

void TokenUser::document(boost::json::object& operation, schema::Definitions&) { document_bearer(operation); }

}  // namespace api
