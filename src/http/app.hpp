#pragma once
// The application: its route table and the request path every request takes,
// over a socket (server.cpp) or in process (TestClient):
// middleware (request id, access log, ...: http/middleware.hpp) around
// route match (404/405) -> handler -> errors as JSON.

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/task.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "schema/codec.hpp"
#include "schema/errors.hpp"

namespace boost::asio {
class io_context;
}

namespace http {

// What one event-loop thread owns for the application (its database pool, ...).
// The application derives from it; handlers reach it through their parameters.
struct WorkerState {
    virtual ~WorkerState() = default;
};

// FastAPI's unique id of an operation: the handler's name (the summary in snake case),
// the path and the method, every non-word character an underscore.
std::string operation_id(std::string_view summary, std::string_view path, std::string_view method);

// Makes a thread's WorkerState on that thread's io_context.
using WorkerInit = std::function<std::unique_ptr<WorkerState>(boost::asio::io_context&)>;

struct RouteInfo;

struct RequestContext {
    RequestContext(Request& r, WorkerState* w)
        : request(r), worker(w), start(std::chrono::steady_clock::now()), client(r.remote_address) {}

    Request& request;
    WorkerState* worker = nullptr;
    std::chrono::steady_clock::time_point start{};  // when the App got the request
    std::string request_id;  // set by the RequestId middleware
    // The client's address and the scheme it used: the peer's own, or what a trusted proxy
    // says (ProxyHeaders middleware). Limits, logs and metrics use these.
    std::string client;
    std::string scheme = "http";
    // The matched route (its template: route->path), known before the first middleware runs;
    // null for a path or method no route serves.
    const RouteInfo* route = nullptr;
    Headers response_headers;          // added to the answer, whatever it is (a middleware's before())
    PathParams path_params;
    std::optional<schema::TextFields> query_fields;  // parsed on first use

    const std::string* path_param(std::string_view name) const;

    // Time since `start`, read once: the first caller (the access log, the metrics) fixes it
    // for the others, so they agree, and a request nobody times reads no clock for it.
    std::chrono::nanoseconds elapsed();

private:
    std::chrono::nanoseconds elapsed_{-1};
};

// A piece of the request path around the router, as Starlette's middleware. The App runs
// each one's before() in the order they were added; one that answers there stops the
// request (the inner pieces and the route do not run). Then after() of each piece whose
// before() ran, innermost first, on whatever the answer is (errors included). Both may be
// called from every event-loop thread at once. Neither coroutine nor allocation: a piece
// costs a virtual call on each side.
class Middleware {
public:
    virtual ~Middleware() = default;
    virtual std::optional<Response> before(RequestContext&) const { return std::nullopt; }
    virtual void after(RequestContext&, Response&) const {}
};

// Invalid input found while extracting a route's parameters: answered 422.
struct RequestValidationError {
    std::vector<schema::FieldError> errors;
};

using Handler = std::function<core::Task<Response>(RequestContext&)>;

// What documentation needs of a route; filled by its typed declaration.
struct RouteInfo {
    std::string method;
    std::string path;
    std::string summary;
    std::string operation_id;  // as FastAPI makes it: read_item_items__item_id__get
    std::size_t index = 0;     // its place in App::routes(), set by App::add
    std::vector<std::string> tags;
    int status = 200;
    // Builds the OpenAPI operation object, adding the schemas it refers to; empty for a
    // route left out of the document.
    std::function<boost::json::object(schema::Definitions&)> describe;
};

struct Route {
    RouteInfo info;
    Handler handler;
};

class App {
public:
    App() = default;
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // Turns an exception a handler let escape into a response (FastAPI's exception
    // handlers); when it returns nothing the exception is a logged 500.
    using ExceptionHandler = std::function<std::optional<Response>(const std::exception&, const RequestContext&)>;
    void on_exception(ExceptionHandler handler) { exception_handler_ = std::move(handler); }

    void add(Route route);
    void include(std::vector<Route> routes);
    // Appends a middleware: the first added is the outermost.
    void use(std::shared_ptr<const Middleware> middleware) { middleware_.push_back(std::move(middleware)); }
    const std::vector<Route>& routes() const { return routes_; }

    // The whole request path. Never throws: every failure becomes a JSON response. With
    // `answer` (a request the server refused: too large, unreadable) the routes are not
    // asked; the middleware still run around it.
    core::Task<Response> handle(Request& request, WorkerState* worker, std::optional<Response> answer = std::nullopt);

private:
    core::Task<Response> dispatch(RequestContext& ctx, Router::Match& match);
    Response error_response(const RequestContext& ctx) const;  // of the exception in flight

    std::vector<Route> routes_;
    std::vector<std::shared_ptr<const Middleware>> middleware_;
    Router router_;
    ExceptionHandler exception_handler_;
};

// The request id to use: the client's X-Request-ID if it is sane (1-128 characters of
// letters, digits and -_.:), else a new random one.
std::string request_id_for(const Request& request);

}  // namespace http
