#pragma once
// Method + path matching in one walk down a tree of path segments.
// Static segments win over `{param}` segments; `/items` and `/items/` are one route.
// HEAD is served by a path's GET route unless it has a HEAD route of its own.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

using PathParams = std::vector<std::pair<std::string_view, std::string>>;

class Router {
public:
    Router();
    ~Router();
    Router(Router&&) noexcept;
    Router& operator=(Router&&) noexcept;

    // Registers `pattern` ("/items/{item_id}") for `method`; throws std::invalid_argument
    // on a malformed pattern or a method + path registered twice.
    void add(std::string_view method, std::string_view pattern, std::size_t route);

    struct Match {
        enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
        std::size_t route = 0;
        PathParams params;   // names point into the router
        std::string allow;   // for method_not_allowed: "DELETE, GET"
    };

    Match match(std::string_view method, std::string_view path) const;

private:
    struct Node;
    std::unique_ptr<Node> root_;
};

}  // namespace http
