#include "http/app.hpp"

#include <cctype>

#include <algorithm>

#include "core/log.hpp"
#include "core/random.hpp"

namespace http {

const std::string* RequestContext::path_param(std::string_view name) const {
    for (const auto& [k, v] : path_params)
        if (k == name) return &v;
    return nullptr;
}

void App::add(Route route) {
    router_.add(route.info.method, route.info.path, routes_.size());
    routes_.push_back(std::move(route));
}

void App::include(std::vector<Route> routes) {
    for (auto& r : routes) add(std::move(r));
}

std::string request_id_for(const Request& request) {
    if (const std::string* sent = request.headers.find("x-request-id")) {
        const bool sane = !sent->empty() && sent->size() <= 128 &&
                          std::all_of(sent->begin(), sent->end(), [](char c) {
                              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                     c == '-' || c == '_' || c == '.' || c == ':';
                          });
        if (sane) return *sent;
    }
    return core::random_hex_id();
}

void log_access(const Request& request, std::string_view request_id, int status, std::size_t bytes,
                std::chrono::steady_clock::duration elapsed) {
    if (!core::log::enabled(core::log::Level::info)) return;
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    core::log::info("request", {{"request_id", request_id},
                                {"method", request.method},
                                {"path", request.path},
                                {"status", status},
                                {"duration_ms", ms},
                                {"bytes", static_cast<std::uint64_t>(bytes)}});
}

core::Task<Response> App::dispatch(RequestContext& ctx) {
    auto match = router_.match(ctx.request.method, ctx.request.path);
    switch (match.kind) {
        case Router::Match::Kind::not_found: co_return Response::detail(404, "Not Found");
        case Router::Match::Kind::method_not_allowed: {
            Response r = Response::detail(405, "Method Not Allowed");
            r.headers.set("allow", match.allow);
            co_return r;
        }
        case Router::Match::Kind::found: break;
    }
    ctx.path_params = std::move(match.params);
    co_return co_await routes_[match.route].handler(ctx);
}

core::Task<Response> App::handle(Request& request, WorkerState* worker) {
    const auto start = std::chrono::steady_clock::now();
    RequestContext ctx{request, worker, request_id_for(request), {}, {}};
    Response response;
    try {
        response = co_await dispatch(ctx);
    } catch (const HttpError& e) {
        response = Response::detail(e.status, e.detail);
        for (const auto& [k, v] : e.headers) response.headers.set(k, v);
    } catch (const RequestValidationError& e) {
        response = Response::json(422, schema::to_detail_json(e.errors));
    } catch (const std::exception& e) {
        std::optional<Response> handled;
        if (exception_handler_) handled = exception_handler_(e, ctx);
        if (handled) {
            response = std::move(*handled);
        } else {
            core::log::error("unhandled exception", {{"request_id", ctx.request_id},
                                                     {"method", request.method},
                                                     {"path", request.path},
                                                     {"error", e.what()}});
            response = Response::detail(500, "Internal Server Error");
        }
    } catch (...) {
        core::log::error("unhandled exception",
                         {{"request_id", ctx.request_id}, {"method", request.method}, {"path", request.path}});
        response = Response::detail(500, "Internal Server Error");
    }
    response.headers.set("x-request-id", ctx.request_id);
    log_access(request, ctx.request_id, response.status, response.body.size(),
               std::chrono::steady_clock::now() - start);
    co_return response;
}

std::string operation_id(std::string_view summary, std::string_view path, std::string_view method) {
    const auto word = [](unsigned char c) { return std::isalnum(c) || c == '_'; };
    std::string id;
    for (unsigned char c : summary) id += c == ' ' ? '_' : static_cast<char>(std::tolower(c));
    for (unsigned char c : path) id += word(c) ? static_cast<char>(c) : '_';
    id += '_';
    for (unsigned char c : method) id += static_cast<char>(std::tolower(c));
    return id;
}

}  // namespace http
