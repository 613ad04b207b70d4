#pragma once
// Each resource's routes, one file each (health_routes.cpp, ...), combined in app.cpp.

#include "http/route.hpp"

namespace api {

http::Routes health_routes();
http::Routes auth_routes();
http::Routes users_routes();
http::Routes items_routes();

}  // namespace api
