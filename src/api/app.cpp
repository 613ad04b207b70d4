#include "api/app.hpp"

#include "api/deps.hpp"
#include "api/routes.hpp"

namespace api {

Service::Service(const config::Settings& settings) : connector_(db::make_connector(settings.database)) {
    app_.include(health_routes().take());
}

http::WorkerInit Service::worker_init() {
    return [this](boost::asio::io_context& ioc) -> std::unique_ptr<http::WorkerState> {
        auto state = std::make_unique<ThreadState>();
        state->database = connector_->open(ioc);
        return state;
    };
}

}  // namespace api
