#pragma once
// The service assembled: settings -> database connector -> routes -> worker state.

#include <memory>

#include "config/settings.hpp"
#include "db/database.hpp"
#include "http/app.hpp"
#include "http/metrics.hpp"
#include "http/rate_limit.hpp"

namespace api {
struct AppContext;
}

namespace api {

// The settings' database, as every command of the service opens it; a URL it cannot
// serve is a config::SettingsError naming DATABASE_URL.
std::unique_ptr<db::Connector> open_database(const config::Settings& settings);

class Service {
public:
    ~Service();
    // Throws std::runtime_error naming the setting when the database cannot be served.
    explicit Service(const config::Settings& settings);

    http::App& app() { return app_; }
    // The App that serves /metrics on METRICS_PORT alone; null when the metrics are off or
    // served by app() on PORT.
    http::App* metrics_app() { return metrics_app_.get(); }
    const AppContext& context() const { return *context_; }
    db::Connector& connector() { return *connector_; }
    // The metric families GET /metrics serves (empty when METRICS_ENABLED is false).
    const http::MetricsRegistry& metrics() const { return *metrics_; }

    // Opens a thread's database on its io_context.
    http::WorkerInit worker_init();

private:
    // Declares what GET /metrics serves: the build, the requests', the database's, the
    // hashing's, the limits', the process's.
    void declare_metrics(http::MetricsRegistry& registry) const;

    std::unique_ptr<AppContext> context_;
    std::unique_ptr<db::Connector> connector_;
    http::App app_;
    std::shared_ptr<const http::RequestMetrics> request_metrics_;
    std::shared_ptr<const http::RateLimits> rate_limits_;
    std::unique_ptr<http::App> metrics_app_;
    std::shared_ptr<http::MetricsRegistry> metrics_ = std::make_shared<http::MetricsRegistry>();
};

}  // namespace api
