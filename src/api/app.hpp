#pragma once
// The service assembled: settings -> database connector -> routes -> worker state.

#include <memory>

#include "config/settings.hpp"
#include "db/database.hpp"
#include "http/app.hpp"

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
    const AppContext& context() const { return *context_; }
    db::Connector& connector() { return *connector_; }

    // Opens a thread's database on its io_context.
    http::WorkerInit worker_init();

private:
    std::unique_ptr<AppContext> context_;
    std::unique_ptr<db::Connector> connector_;
    http::App app_;
};

}  // namespace api
