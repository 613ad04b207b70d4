#include "http/router.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace http {

struct Router::Node {
    std::vector<std::pair<std::string, std::unique_ptr<Node>>> statics;
    std::unique_ptr<Node> param;
    std::string param_name;
    std::vector<std::pair<std::string, std::size_t>> methods;  // method -> route

    // The route of `method` here; HEAD falls back to GET's (RFC 9110 section 9.3.2: the same
    // answer without its body, which the server leaves out).
    std::optional<std::size_t> route_for(std::string_view method) const {
        for (const auto& [m, route] : methods)
            if (m == method) return route;
        if (method == "HEAD") return route_for("GET");
        return std::nullopt;
    }

    Node* child(std::string_view segment) const {
        for (const auto& [s, n] : statics)
            if (s == segment) return n.get();
        return nullptr;
    }
};

namespace {

// "/items/" -> "/items"; "/" stays "/".
std::string_view without_trailing_slash(std::string_view path) {
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    return path;
}

// Calls f(segment) for each segment of an absolute path; false if the path is not absolute.
template <class F>
bool for_each_segment(std::string_view path, F&& f) {
    if (path.empty() || path.front() != '/') return false;
    path = without_trailing_slash(path);
    if (path == "/") return true;
    path.remove_prefix(1);
    while (true) {
        const auto slash = path.find('/');
        if (!f(path.substr(0, slash))) return false;
        if (slash == std::string_view::npos) return true;
        path.remove_prefix(slash + 1);
    }
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::add(std::string_view method, std::string_view pattern, std::size_t route) {
    Node* node = root_.get();
    const bool ok = for_each_segment(pattern, [&](std::string_view seg) {
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            const std::string_view name = seg.substr(1, seg.size() - 2);
            if (!node->param) {
                node->param = std::make_unique<Node>();
                node->param->param_name = std::string(name);
            } else if (node->param->param_name != name) {
                throw std::invalid_argument("route " + std::string(pattern) + ": parameter {" + std::string(name) +
                                            "} conflicts with {" + node->param->param_name + "}");
            }
            node = node->param.get();
        } else {
            if (seg.empty() || seg.find_first_of("{}") != std::string_view::npos) return false;
            Node* next = node->child(seg);
            if (!next) {
                node->statics.emplace_back(std::string(seg), std::make_unique<Node>());
                next = node->statics.back().second.get();
            }
            node = next;
        }
        return true;
    });
    if (!ok) throw std::invalid_argument("malformed route pattern: " + std::string(pattern));
    for (const auto& [m, r] : node->methods)
        if (m == method)
            throw std::invalid_argument("route registered twice: " + std::string(method) + " " + std::string(pattern));
    node->methods.emplace_back(std::string(method), route);
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
    std::vector<std::string_view> segments;
    Match m;
    if (!for_each_segment(path, [&](std::string_view s) {
            segments.push_back(s);
            return true;
        }))
        return m;

    // Depth-first, static before parameter. As in Starlette, a route matching path and
    // method anywhere wins; otherwise the first path match answers 405 with its methods.
    const Node* path_match = nullptr;
    PathParams params;
    auto walk = [&](auto& self, const Node* node, std::size_t i) -> bool {
        if (i == segments.size()) {
            if (node->methods.empty()) return false;
            if (!path_match) path_match = node;
            if (const auto route = node->route_for(method)) {
                m.kind = Match::Kind::found;
                m.route = *route;
                m.params = params;
                return true;
            }
            return false;
        }
        if (!segments[i].empty()) {
            if (const Node* next = node->child(segments[i]); next && self(self, next, i + 1)) return true;
            if (node->param) {
                params.emplace_back(node->param->param_name, std::string(segments[i]));
                if (self(self, node->param.get(), i + 1)) return true;
                params.pop_back();
            }
        }
        return false;
    };
    if (walk(walk, root_.get(), 0) || !path_match) return m;

    std::vector<std::string_view> allowed;
    for (const auto& [mth, route] : path_match->methods) allowed.push_back(mth);
    if (path_match->route_for("HEAD") && std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end())
        allowed.push_back("HEAD");
    std::sort(allowed.begin(), allowed.end());
    m.kind = Match::Kind::method_not_allowed;
    for (auto a : allowed) {
        if (!m.allow.empty()) m.allow += ", ";
        m.allow += a;
    }
    return m;
}

}  // namespace http
