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

std::chrono::nanoseconds RequestContext::elapsed() {
    if (elapsed_.count() < 0) elapsed_ = std::chrono::steady_clock::now() - start;
    return elapsed_;
}

void App::add(Route route) {
    router_.add(route.info.method, route.info.path, routes_.size());
    route.info.index = routes_.size();
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

core::Task<Response> App::dispatch(RequestContext& ctx, Router::Match& match) {
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

Response App::error_response(const RequestContext& ctx) const {
    const Request& request = ctx.request;
    try {
        throw;
    } catch (const HttpError& e) {
        Response response = Response::detail(e.status, e.detail);
        for (const auto& [k, v] : e.headers) response.headers.set(k, v);
        return response;
    } catch (const RequestValidationError& e) {
        return Response::json(422, schema::to_detail_json(e.errors));
    } catch (const std::exception& e) {
        if (exception_handler_) {
            if (auto handled = exception_handler_(e, ctx)) return std::move(*handled);
        }
        core::log::error("unhandled exception", {{"request_id", ctx.request_id},
                                                 {"method", request.method},
                                                 {"path", request.path},
                                                 {"error", e.what()}});
    } catch (...) {
        core::log::error("unhandled exception",
                         {{"request_id", ctx.request_id}, {"method", request.method}, {"path", request.path}});
    }
    return Response::detail(500, "Internal Server Error");
}

core::Task<Response> App::handle(Request& request, WorkerState* worker, std::optional<Response> answer) {
    RequestContext ctx(request, worker);
    // Matched first, so that every middleware knows the route (limits, logs, metrics).
    Router::Match match = router_.match(request.method, request.path);
    if (match.kind == Router::Match::Kind::found) ctx.route = &routes_[match.route].info;
    Response response;
    std::size_t entered = 0;  // the middleware whose before() ran
    try {
        std::optional<Response> early;
        while (entered < middleware_.size() && !early) early = middleware_[entered++]->before(ctx);
        if (early)
            response = std::move(*early);
        else if (answer)
            response = std::move(*answer);
        else
            response = co_await dispatch(ctx, match);
    } catch (...) {
        response = error_response(ctx);
    }
    if (!ctx.response_headers.empty()) {
        for (const auto& [name, value] : ctx.response_headers) response.headers.add(name, value);
    }
    while (entered > 0) {
        try {
            middleware_[--entered]->after(ctx, response);
        } catch (...) {
            response = error_response(ctx);
        }
    }
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
