#include "api/deps.hpp"
#include "api/routes.hpp"
#include "core/log.hpp"

namespace api {

http::Routes health_routes() {
    http::Routes routes("", {"health"});

    // Its body either way: {"status": "ok"} or {"status": "unavailable"}.
    const auto status_body = [](const char* value) {
        return boost::json::object{
            {"type", "object"},
            {"properties", boost::json::object{{"status", boost::json::object{{"const", value}}}}},
            {"required", boost::json::array{"status"}}};
    };
    routes.get(
        "/health",
        {.summary = "Health Check",
         .responses = {{200, "The database answered", {}, status_body("ok")},
                       {503, "The database did not answer within HEALTH_TIMEOUT", {}, status_body("unavailable")}}},
        [](Db db, Settings settings) -> core::Task<http::Response> {
            bool up = true;
            try {
                co_await db->query_within(settings->health_timeout, db::reads("SELECT 1"));
            } catch (const std::exception& e) {
                core::log::warn("health check failed", {{"error", e.what()}});
                up = false;
            }
            co_return up ? http::Response::json(200, R"({"status":"ok"})")
                         : http::Response::json(503, R"({"status":"unavailable"})");
        });

    return routes;
}

}  // namespace api
