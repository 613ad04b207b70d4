#include "api/service.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "api/deps.hpp"
#include "api/routes.hpp"
#include "core/log.hpp"
#include "http/middleware.hpp"
#include "http/rate_limit.hpp"
#include "openapi/document.hpp"
#include "openapi/pages.hpp"

namespace api {

namespace {

// A database that is down or saturated, or a full hashing queue, is the service being
// unavailable (503), not a bug (500).
std::optional<http::Response> overload_errors(const std::exception& e, const http::RequestContext& ctx) {
    const auto* error = dynamic_cast<const db::DatabaseError*>(&e);
    using Kind = db::DatabaseError::Kind;
    const bool database_down = error && (error->kind() == Kind::unavailable || error->kind() == Kind::timeout);
    if (!database_down && !dynamic_cast<const security::Overloaded*>(&e)) return std::nullopt;
    core::log::warn("service unavailable", {{"request_id", ctx.request_id}, {"error", e.what()}});
    auto response = http::Response::detail(503, "Service Unavailable");
    response.headers.set("retry-after", "1");
    return response;
}

db::ConnectorOptions connector_options(const config::Settings& s) {
    db::ConnectorOptions options;
    options.size = s.db_pool_size;
    options.acquire_timeout = s.db_pool_timeout;
    options.statement_timeout = s.db_statement_timeout;
    options.response_timeout = s.db_response_timeout;
    options.prepared_statements = s.db_prepared_statements;
    options.application_name = "items-api";
    options.temp_dir_prefix = "/tmp/items-api-";
    options.thread_name_prefix = "items-";
    return options;
}

// GET <OPENAPI_URL>: the document, serialized once; not itself in the document.
http::Route openapi_route(std::string path, std::string document) {
    http::RouteInfo info;
    info.method = "GET";
    info.path = std::move(path);
    auto body = std::make_shared<const std::string>(std::move(document));
    return http::Route{std::move(info), [body](http::RequestContext&) -> core::Task<http::Response> {
                           co_return http::Response::json(200, *body);
                       }};
}

http::RateLimit parse_limit(const char* name, const std::string& text) {
    try {
        return http::RateLimit::parse(text);
    } catch (const std::invalid_argument& e) {
        throw config::SettingsError(name, e.what());
    }
}

// The routes RATE_LIMIT_AUTH limits: those that take a password or hand out tokens.
const std::vector<std::string> kAuthPaths{"/auth/register", "/auth/token", "/auth/refresh"};

// RATE_LIMIT_AUTH on kAuthPaths, RATE_LIMIT_DEFAULT on the rest; nothing at all (null)
// when both are off.
std::shared_ptr<const http::RateLimits> add_rate_limits(http::App& app, const config::Settings& s) {
    const auto auth = parse_limit("RATE_LIMIT_AUTH", s.rate_limit_auth);
    const auto rest = parse_limit("RATE_LIMIT_DEFAULT", s.rate_limit_default);
    if (auth.off() && rest.off()) return nullptr;
    std::vector<http::RateLimits::Rule> rules;
    rules.push_back({"auth", auth, kAuthPaths});
    rules.push_back({"default", rest, {}});
    auto limits = std::make_shared<const http::RateLimits>(std::move(rules));
    app.use(limits);
    return limits;
}

#ifndef ITEMS_API_VERSION
#define ITEMS_API_VERSION "unknown"
#endif

std::string compiler_name() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

// The 429 of the rate limits, on the operations they apply to with these settings.
void add_rate_limit_responses(boost::json::object& document, const config::Settings& s) {
    const auto auth = parse_limit("RATE_LIMIT_AUTH", s.rate_limit_auth);
    const auto rest = parse_limit("RATE_LIMIT_DEFAULT", s.rate_limit_default);
    schema::Definitions defs;  // HTTPError is in the document already
    for (auto& [path, item] : document.at("paths").as_object()) {
        const bool by_auth =
            std::find(kAuthPaths.begin(), kAuthPaths.end(), std::string_view(path)) != kAuthPaths.end() && !auth.off();
        const auto& limit = by_auth ? auth : rest;
        if (limit.off()) continue;
        std::string description = "Too many requests from this client: ";
        description += limit.describe();
        description += by_auth ? " (RATE_LIMIT_AUTH)" : " (RATE_LIMIT_DEFAULT)";
        for (auto& [method, operation] : item.as_object()) {
            http::add_response(operation.as_object(), defs,
                               {429,
                                description,
                                {{"Retry-After", "Seconds to wait before retrying"},
                                 {"RateLimit-Policy", "The limit: \"name\";q=requests;w=seconds"},
                                 {"RateLimit", "What is left: \"name\";r=requests;t=seconds until full again"}}});
        }
    }
}

}  // namespace

std::unique_ptr<db::Connector> open_database(const config::Settings& settings) {
    try {
        return db::make_connector(settings.database_url, connector_options(settings));
    } catch (const db::UnusableUrl& e) {
        throw config::SettingsError("DATABASE_URL", e.what());
    }
}

std::vector<http::Route> all_routes() {
    std::vector<http::Route> routes;
    for (auto group : {auth_routes(), users_routes(), items_routes(), health_routes()}) {
        for (auto& route : group.take()) routes.push_back(std::move(route));
    }
    return routes;
}

boost::json::object openapi_document(const config::Settings& settings, const std::vector<http::Route>& routes) {
    openapi::Info info{settings.api_title, settings.api_version, settings.api_description, {}};
    // FastAPI's OAuth2PasswordBearer(tokenUrl="/auth/token"), which CurrentUser refers to.
    info.security_schemes["OAuth2PasswordBearer"] = boost::json::object{
        {"type", "oauth2"},
        {"flows", boost::json::object{{"password", boost::json::object{{"scopes", boost::json::object{}},
                                                                       {"tokenUrl", "/auth/token"}}}}}};
    auto document = openapi::build(routes, info);
    add_rate_limit_responses(document, settings);
    openapi::add_head_operations(document);
    return document;
}

Service::Service(const config::Settings& settings)
    : context_(std::make_unique<AppContext>(settings)), connector_(open_database(settings)) {
    app_.on_exception(overload_errors);
    if (settings.metrics_port != 0 && settings.metrics_port == settings.port)
        throw config::SettingsError("METRICS_PORT", "must differ from PORT (or be 0 to serve /metrics on PORT)");
    if (settings.metrics_enabled) {
        // Outermost: every answer counts, those of the other middleware included.
        auto metrics = std::make_shared<const http::RequestMetrics>(app_);
        app_.use(metrics);
        request_metrics_ = std::move(metrics);
    }
    std::optional<http::TrustedProxies> proxies;
    try {
        proxies.emplace(settings.forwarded_allow_ips);
    } catch (const std::invalid_argument& e) {
        throw config::SettingsError("FORWARDED_ALLOW_IPS", e.what());
    }
    app_.use(std::make_shared<http::ProxyHeaders>(std::move(*proxies)));
    app_.use(std::make_shared<http::RequestId>());
    app_.use(std::make_shared<http::AccessLog>());
    app_.use(std::make_shared<http::SecurityHeaders>(http::SecurityHeaders::Options{"items-api"}));
    if (!settings.cors_origins.empty()) {
        try {
            app_.use(std::make_shared<http::Cors>(http::Cors::Options{
                settings.cors_origins, settings.cors_allow_credentials, settings.cors_max_age,
                settings.cors_allow_methods, settings.cors_allow_headers, settings.cors_expose_headers}));
        } catch (const http::Cors::Problem& e) {
            std::string name = "CORS_" + e.setting;
            for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            throw config::SettingsError(name, e.what());
        }
    }
    // Inside CORS: preflights are not counted, and a 429 still carries the CORS headers that
    // let the calling page read it.
    rate_limits_ = add_rate_limits(app_, settings);
    app_.include(all_routes());
    if (!settings.openapi_url.empty()) {
        // Built from the routes above, before its own route joins them.
        auto document = boost::json::serialize(openapi_document(settings, app_.routes()));
        app_.add(openapi_route(settings.openapi_url, std::move(document)));
        for (auto& page :
             openapi::page_routes({settings.docs_url, settings.redoc_url, settings.openapi_url, settings.api_title}))
            app_.add(std::move(page));
    }
    if (settings.metrics_enabled) {
        declare_metrics(*metrics_);
        auto route = http::metrics_route("/metrics", metrics_);
        if (settings.metrics_port == 0) {
            app_.add(std::move(route));
        } else {
            metrics_app_ = std::make_unique<http::App>();
            metrics_app_->use(std::make_shared<http::SecurityHeaders>(http::SecurityHeaders::Options{"items-api"}));
            metrics_app_->add(std::move(route));
        }
    }
}

void Service::declare_metrics(http::MetricsRegistry& registry) const {
    using Type = http::MetricsRegistry::Type;
    using Samples = http::MetricsRegistry::Samples;
    registry.add({"items_api_build_info", Type::gauge, "The running build: version, compiler, database backend",
                  {"version", "compiler", "database"}},
                 [labels = std::array<std::string, 3>{
                      ITEMS_API_VERSION, compiler_name(),
                      connector_->dialect() == db::Dialect::sqlite ? "sqlite" : "postgresql"}](Samples& out) {
                     out.add({labels[0], labels[1], labels[2]}, 1);
                 });
    if (request_metrics_) http::RequestMetrics::add_to(registry, request_metrics_);
    const db::Connector* db = connector_.get();
    registry.add({"items_api_db_connections", Type::gauge,
                  "Database connections open, by state (in_use: statements or a transaction on them)",
                  {"state"}},
                 [db](Samples& out) {
                     const auto s = db->stats();
                     out.add({"in_use"}, static_cast<double>(s.in_use));
                     out.add({"idle"}, static_cast<double>(s.open - s.in_use));
                 });
    registry.add({"items_api_db_waiting", Type::gauge,
                  "Requests waiting for a database connection (SQLite: writes queued for the writer)", {}},
                 [db](Samples& out) { out.add({}, static_cast<double>(db->stats().waiting)); });
    const security::PasswordHasher* hasher = &context_->hasher;
    registry.add({"items_api_password_hash_threads", Type::gauge, "Threads that hash and verify passwords", {}},
                 [hasher](Samples& out) { out.add({}, static_cast<double>(hasher->stats().threads)); });
    registry.add({"items_api_password_hash_running", Type::gauge, "Password hashes and checks being computed", {}},
                 [hasher](Samples& out) { out.add({}, static_cast<double>(hasher->stats().running)); });
    registry.add({"items_api_password_hash_queue_depth", Type::gauge, "Password hashes and checks waiting for a thread",
                  {}},
                 [hasher](Samples& out) { out.add({}, static_cast<double>(hasher->stats().queued)); });
    registry.add({"items_api_password_hash_rejected_total", Type::counter,
                  "Password hashes and checks refused because the queue was full (answered 503)", {}},
                 [hasher](Samples& out) { out.add({}, static_cast<double>(hasher->stats().rejected)); });
    registry.add({"items_api_password_hash_duration_seconds", Type::histogram,
                  "Time from queueing a password hash or check to its result", {}},
                 [hasher](Samples& out) { out.add({}, hasher->stats().latency); });
    registry.add({"items_api_rate_limited_total", Type::counter,
                  "Requests refused with 429, by limit (auth: RATE_LIMIT_AUTH, default: RATE_LIMIT_DEFAULT, "
                  "failed_logins: LOGIN_MAX_FAILURES and LOGIN_MAX_FAILURES_PER_CLIENT)",
                  {"limit"}},
                 [limits = rate_limits_, login = &context_->login_limiter](Samples& out) {
                     // Every limit, the ones off included (at 0): a series that appears only
                     // with its first refusal makes rate() miss it.
                     std::vector<std::pair<std::string, std::uint64_t>> counts{{"auth", 0}, {"default", 0}};
                     if (limits)
                         for (const auto& [name, n] : limits->rejected())
                             for (auto& c : counts)
                                 if (c.first == name) c.second = n;
                     counts.emplace_back("failed_logins", login->refused());
                     for (const auto& [name, n] : counts) out.add({name}, static_cast<double>(n));
                 });
    http::add_process_metrics(registry);
}

Service::~Service() = default;

http::WorkerInit Service::worker_init() {
    return [this](boost::asio::io_context& ioc) -> std::unique_ptr<http::WorkerState> {
        auto state = std::make_unique<ThreadState>();
        state->app = context_.get();
        state->loop = &ioc;
        state->database = connector_->open(ioc);
        return state;
    };
}

}  // namespace api
