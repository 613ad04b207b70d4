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

// The HEAD operation beside each GET operation of `document` (the router serves HEAD with a
// path's GET route): the same parameters, security and statuses with their headers, no
// content; its operationId ends in _head where the GET's ends in _get, as FastAPI names a
// route's HEAD. Call it last, once the GET operations are complete.
void add_head_operations(boost::json::object& document);

}  // namespace openapi
