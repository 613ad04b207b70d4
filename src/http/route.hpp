#pragma once
// Declaring a route once: its typed parameters drive extraction and validation, its
// return type the response body, and both its OpenAPI operation.
//
//   http::Routes items("/items", {"items"});
//   items.get("/{item_id}", {.summary = "Read Item"},
//             [](Path<std::int64_t, "item_id"> id, CurrentUser user, Db db) -> Task<ItemRead>
//             {...});
//
// A handler returns Task<Model> (encoded with the declared status), Task<WithHeaders<Model>>
// (the same, with headers of its own), Task<Encoded<Model>> (a response it made itself, a
// streamed one, documented as the model), Task<void> (an empty body with the declared
// status) or Task<Response> (sent as it is, undocumented).

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/task.hpp"
#include "http/app.hpp"
#include "http/params.hpp"

namespace http {

struct RouteOptions {
    std::string summary{};
    int status = 200;
    std::vector<std::string> tags{};
    // What the handler itself can answer besides its success (404 ...), for the document;
    // what its parameters and dependencies can cause they document themselves.
    std::vector<DocumentedResponse> responses{};
    // Headers the success response may carry (a WithHeaders result), for the document.
    std::vector<DocumentedResponse::Header> headers{};
};

// A model to encode as the body, and headers to send with it (a Link to the next page).
template <class T>
struct WithHeaders {
    T value;
    Headers headers{};
};

// A response the handler encoded itself as a T (streamed, for one); sent with the
// route's status, and documented as a T.
template <class T>
struct Encoded {
    Response response;
};

namespace detail {

template <class F>
struct handler_traits : handler_traits<decltype(&F::operator())> {};
template <class C, class R, class... A>
struct handler_traits<R (C::*)(A...) const> {
    using result = R;
    using args = std::tuple<std::remove_cvref_t<A>...>;
};
template <class R, class... A>
struct handler_traits<R (*)(A...)> {
    using result = R;
    using args = std::tuple<std::remove_cvref_t<A>...>;
};

template <class T>
struct task_value;
template <class T>
struct task_value<core::Task<T>> {
    using type = T;
};

// The model a result encodes: T itself, or the T of WithHeaders<T> or Encoded<T>.
template <class T>
struct body_of {
    using type = T;
};
template <class T>
struct body_of<WithHeaders<T>> {
    using type = T;
};
template <class T>
struct body_of<Encoded<T>> {
    using type = T;
};
template <class T>
struct is_encoded : std::false_type {};
template <class T>
struct is_encoded<Encoded<T>> : std::true_type {};
template <class T>
struct is_with_headers : std::false_type {};
template <class T>
struct is_with_headers<WithHeaders<T>> : std::true_type {};

template <class P>
concept Dependency = requires(RequestContext& ctx) {
    { P::resolve(ctx) } -> std::same_as<core::Task<P>>;
};

template <class P>
concept Documented = requires(boost::json::object& op, schema::Definitions& defs) {
    P::document(op, defs);
};

// Awaits step(argument) for each of the handler's arguments that `step` takes, in order.
template <std::size_t I = 0, class Args, class Step>
core::Task<void> await_each(Args& args, Step step) {
    if constexpr (I < std::tuple_size_v<Args>) {
        if constexpr (std::is_invocable_v<Step&, std::tuple_element_t<I, Args>&>) co_await step(std::get<I>(args));
        co_await await_each<I + 1>(args, step);
    }
}

template <class Args, std::size_t... I>
void extract_parameters(RequestContext& ctx, Args& args, schema::Errors& e, std::index_sequence<I...>) {
    (
        [&] {
            using P = std::tuple_element_t<I, Args>;
            if constexpr (!Dependency<P>) P::extract(ctx, std::get<I>(args), e);
        }(),
        ...);
}

// Extract, call, encode. Dependencies are resolved first, in order: their errors (a 401)
// win over the validation errors of the other parameters, as in FastAPI.
template <class F>
core::Task<Response> invoke(const F& fn, int status, RequestContext& ctx) {
    using Traits = handler_traits<F>;
    using Args = typename Traits::args;
    using R = typename task_value<typename Traits::result>::type;

    Args args;
    co_await await_each(args, [&]<Dependency P>(P& p) -> core::Task<void> { p = co_await P::resolve(ctx); });
    schema::Errors errors;
    extract_parameters(ctx, args, errors, std::make_index_sequence<std::tuple_size_v<Args>>{});
    if (!errors.empty()) throw RequestValidationError{errors.take()};

    auto task = std::apply([&](auto&... a) { return fn(std::move(a)...); }, args);
    if constexpr (std::is_same_v<R, Response>) {
        co_return co_await std::move(task);
    } else if constexpr (std::is_void_v<R>) {
        co_await std::move(task);
        co_return Response::empty(status);
    } else if constexpr (is_encoded<R>::value) {
        R result = co_await std::move(task);
        Response response = std::move(result.response);
        response.status = status;
        co_return response;
    } else if constexpr (is_with_headers<R>::value) {
        R result = co_await std::move(task);
        auto response = Response::json(status, schema::to_json(result.value));
        for (const auto& [name, value] : result.headers) response.headers.add(name, value);
        co_return response;
    } else {
        const R value = co_await std::move(task);
        co_return Response::json(status, schema::to_json(value));
    }
}

template <class F>
boost::json::object describe(const RouteInfo& info, const std::vector<DocumentedResponse>& declared,
                             const std::vector<DocumentedResponse::Header>& headers, schema::Definitions& defs) {
    using Traits = handler_traits<F>;
    using Args = typename Traits::args;
    using R = typename body_of<typename task_value<typename Traits::result>::type>::type;

    boost::json::object op;
    if (!info.tags.empty()) {
        boost::json::array tags;
        for (const auto& t : info.tags) tags.emplace_back(boost::json::string_view(t));
        op["tags"] = std::move(tags);
    }
    op["summary"] = info.summary;
    op["operationId"] = info.operation_id;
    std::apply(
        [&](auto&... p) {
            (
                [&]<class P>(P&) {
                    if constexpr (Documented<P>) P::document(op, defs);
                }(p),
                ...);
        },
        *std::make_unique<Args>());

    boost::json::object ok{{"description", "Successful Response"}};
    if constexpr (!std::is_void_v<R> && !std::is_same_v<R, Response>) {
        ok["content"] =
            boost::json::object{{"application/json", boost::json::object{{"schema", schema::Codec<R>::schema(defs)}}}};
    }
    if (!headers.empty()) ok["headers"] = document_headers(headers, false);
    if (op.contains("parameters") || op.contains("requestBody")) {
        add_response(
            op, defs,
            {422, "Validation Error", {}, boost::json::object{{"$ref", defs.ref_prefix + "HTTPValidationError"}}});
    }
    for (const auto& response : declared) add_response(op, defs, response, true);
    // The success first, then the others by status.
    boost::json::object responses;
    auto& added = op["responses"];
    if (!added.is_object()) added = boost::json::object{};
    if (auto* own = added.as_object().if_contains(std::to_string(info.status))) {
        for (const auto& [k, v] : own->as_object()) ok[k] = v;  // a route's own schema for it
    }
    responses[std::to_string(info.status)] = std::move(ok);
    std::vector<std::string> others;
    for (const auto& [status, _] : added.as_object()) {
        if (status != std::to_string(info.status)) others.emplace_back(status);
    }
    std::sort(others.begin(), others.end());
    for (const auto& status : others) responses[status] = added.as_object().at(status);
    op["responses"] = std::move(responses);
    return op;
}

}  // namespace detail

// A group of routes sharing a path prefix and tags, like FastAPI's APIRouter.
class Routes {
  public:
    explicit Routes(std::string prefix = "", std::vector<std::string> tags = {})
        : prefix_(std::move(prefix)), tags_(std::move(tags)) {}

    template <class F>
    void get(std::string_view path, RouteOptions opts, F fn) {
        add("GET", path, std::move(opts), std::move(fn));
    }
    template <class F>
    void post(std::string_view path, RouteOptions opts, F fn) {
        add("POST", path, std::move(opts), std::move(fn));
    }
    template <class F>
    void put(std::string_view path, RouteOptions opts, F fn) {
        add("PUT", path, std::move(opts), std::move(fn));
    }
    template <class F>
    void patch(std::string_view path, RouteOptions opts, F fn) {
        add("PATCH", path, std::move(opts), std::move(fn));
    }
    template <class F>
    void del(std::string_view path, RouteOptions opts, F fn) {
        add("DELETE", path, std::move(opts), std::move(fn));
    }

    template <class F>
    void add(std::string_view method, std::string_view path, RouteOptions opts, F fn) {
        RouteInfo info;
        info.method = std::string(method);
        info.path = prefix_ + std::string(path);
        info.summary = std::move(opts.summary);
        info.operation_id = operation_id(info.summary, info.path, info.method);
        info.tags = opts.tags.empty() ? tags_ : std::move(opts.tags);
        info.status = opts.status;
        info.describe = [info_copy = info, declared = std::move(opts.responses),
                         headers = std::move(opts.headers)](schema::Definitions& defs) {
            return detail::describe<F>(info_copy, declared, headers, defs);
        };
        const int status = opts.status;
        routes_.push_back(Route{std::move(info), [fn = std::move(fn), status](RequestContext& ctx) {
                                    return detail::invoke(fn, status, ctx);
                                }});
    }

    std::vector<Route> take() { return std::move(routes_); }

  private:
    std::string prefix_;
    std::vector<std::string> tags_;
    std::vector<Route> routes_;
};

}  // namespace http
