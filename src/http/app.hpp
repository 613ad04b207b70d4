#pragma once
// The application: its route table and the request path every request takes,
// over a socket (server.cpp) or in process (TestClient):
// request id -> route match (404/405) -> handler -> errors as JSON -> access log.

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

struct RequestContext {
    Request& request;
    WorkerState* worker = nullptr;
    std::string request_id;
    PathParams path_params;
    std::optional<schema::TextFields> query_fields;  // parsed on first use

    const std::string* path_param(std::string_view name) const;
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
    const std::vector<Route>& routes() const { return routes_; }

    // The whole request path. Never throws: every failure becomes a JSON response.
    core::Task<Response> handle(Request& request, WorkerState* worker);

private:
    core::Task<Response> dispatch(RequestContext& ctx);

    std::vector<Route> routes_;
    Router router_;
    ExceptionHandler exception_handler_;
};

// The request id to use: the client's X-Request-ID if it is sane (1-128 characters of
// letters, digits and -_.:), else a new random one.
std::string request_id_for(const Request& request);

// One access-log line.
void log_access(const Request& request, std::string_view request_id, int status, std::size_t bytes,
                std::chrono::steady_clock::duration elapsed);

}  // namespace http
