#pragma once
// The OpenAPI 3.1 document of an application, built from its route table: each route
// describes its own operation (RouteInfo::describe), each model its JSON Schema.

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "http/app.hpp"

namespace openapi {

struct Info {
    std::string title;
    std::string version;
    std::string description;
    // components.securitySchemes, as the application names them (its dependencies'
    // document() refer to them by name).
    boost::json::object security_schemes;
};

boost::json::object build(const std::vector<http::Route>& routes, const Info& info);

}  // namespace openapi
