#pragma once
// Each resource's routes, one file each (health_routes.cpp, ...), combined in app.cpp.

#include <boost/json/object.hpp>
#include <vector>

#include "config/settings.hpp"
#include "http/route.hpp"

namespace api {

// Every route of the service, in the order they are documented.
std::vector<http::Route> all_routes();

// The service's OpenAPI document (needs no database: `items-api openapi` prints it).
boost::json::object openapi_document(const config::Settings& settings, const std::vector<http::Route>& routes);

http::Routes health_routes();
http::Routes auth_routes();
http::Routes users_routes();
http::Routes items_routes();

}  // namespace api
