#include "api/app.hpp"

#include "api/deps.hpp"
#include "api/routes.hpp"
#include "core/log.hpp"

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
}  // namespace

db::ConnectorOptions connector_options(const config::Settings& s) {
    db::ConnectorOptions options;
    options.size = s.db_pool_size;
    options.acquire_timeout = s.db_pool_timeout;
    options.statement_timeout = s.db_statement_timeout;
    options.response_timeout = s.db_response_timeout;
    options.application_name = "items-api";
    options.temp_dir_prefix = "/tmp/items-api-";
    options.thread_name_prefix = "items-";
    return options;
}

std::unique_ptr<db::Connector> open_database(const config::Settings& settings) {
    try {
        return db::make_connector(settings.database, connector_options(settings));
    } catch (const db::UnusableUrl& e) {
        throw config::SettingsError("DATABASE_URL", e.what());
    }
}

Service::Service(const config::Settings& settings)
    : context_(std::make_unique<AppContext>(settings)), connector_(open_database(settings)) {
    app_.on_exception(overload_errors);
    app_.include(auth_routes().take());
    app_.include(users_routes().take());
    app_.include(items_routes().take());
    app_.include(health_routes().take());
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
