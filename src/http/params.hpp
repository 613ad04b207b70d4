#pragma once
// The typed parameters a route handler declares, as FastAPI's are:
//
//   Path<std::int64_t, "item_id">  a path parameter       -> loc ["path", "item_id"]
//   Query<PageQuery>               the model's members from the query string -> ["query", ...]
//   Body<ItemCreate>               the JSON body          -> ["body", ...]
//   Form<LoginForm>                an urlencoded form     -> ["body", ...]
//
// Each type has `extract(ctx, out, errors)` (every problem added to `errors`) and
// `document(operation, definitions)` for the route's OpenAPI operation. A parameter
// type of the application can join in with the same two members, or with
// `static Task<T> resolve(RequestContext&)` for an asynchronous dependency, which is
// resolved before the other parameters are extracted (as FastAPI resolves Depends).

#include <algorithm>
#include <boost/json/object.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/fixed_string.hpp"
#include "http/app.hpp"
#include "schema/codec.hpp"

namespace http {

using core::FixedString;

namespace detail {
// Non-template pieces, defined in params.cpp.
const schema::TextFields& query_fields(RequestContext& ctx);
schema::TextFields parse_urlencoded(std::string_view text);
// The JSON body as Pydantic would see it (parsed, or the raw text when the content type
// is not JSON); null, with a "missing" error, when there is none.
std::optional<schema::json::value> json_body(const Request& request, schema::Errors& e);
// The fields of a form body: urlencoded or multipart/form-data (as FastAPI's Form reads
// both); none for another content type. Throws HttpError 400 for a multipart body that
// cannot be parsed, as FastAPI answers one.
schema::TextFields form_fields(const Request& request);
void add_parameter(boost::json::object& operation, std::string_view in, std::string_view name, bool required,
                   boost::json::object schema);
void set_request_body(boost::json::object& operation, std::string_view content_type, boost::json::object schema);
}  // namespace detail

// A response an operation can give, for its OpenAPI document: added by the parameters
// and dependencies that can cause it (CurrentUser: 401) and by the route's options (404).
struct DocumentedResponse {
    struct Header {
        std::string name;
        std::string description;
    };
    int status = 0;
    std::string description;
    std::vector<Header> headers{};
    boost::json::object schema{};  // empty: the error body {"detail": string} (HTTPError)
};

// A response's "headers" object for the document: each a string, required or not.
boost::json::object document_headers(const std::vector<DocumentedResponse::Header>& headers, bool required);

// Adds `response` to operation["responses"]. Another one of the same status already there is
// kept, with both descriptions, unless `replace` (a route's own declaration wins).
void add_response(boost::json::object& operation, schema::Definitions& defs, const DocumentedResponse& response,
                  bool replace = false);
// What every body parameter can cause: 413 (the server's limit) besides the 422.
void add_body_responses(boost::json::object& operation, schema::Definitions& defs);

template <class T, FixedString Name>
struct Path {
    T value{};
    const T& operator*() const { return value; }

    static void extract(RequestContext& ctx, Path& out, schema::Errors& e) {
        auto in = e.at("path");
        auto at = e.at(Name.view());
        if (const std::string* raw = ctx.path_param(Name.view()))
            schema::Codec<T>::from_text(*raw, out.value, e);
        else
            e.add("missing", "Field required", nullptr);
    }
    static void document(boost::json::object& op, schema::Definitions& defs) {
        auto s = schema::Codec<T>::schema(defs);
        s["title"] = schema::detail::field_title(Name.view());
        detail::add_parameter(op, "path", Name.view(), true, std::move(s));
    }
};

template <class M>
struct Query {
    M value{};
    const M& operator*() const { return value; }
    const M* operator->() const { return &value; }

    static void extract(RequestContext& ctx, Query& out, schema::Errors& e) {
        auto in = e.at("query");
        schema::decode_text_fields(detail::query_fields(ctx), out.value, e);
    }
    static void document(boost::json::object& op, schema::Definitions& defs) {
        const auto model = schema::Codec<M>::definition(defs);
        const auto* listed = model.if_contains("required");
        const auto* required = listed ? listed->if_array() : nullptr;
        for (const auto& [name, prop] : model.at("properties").as_object()) {
            const bool req =
                required && std::find(required->begin(), required->end(), schema::json::value(name)) != required->end();
            detail::add_parameter(op, "query", name, req, prop.as_object());
        }
    }
};

template <class M>
struct Body {
    M value{};
    const M& operator*() const { return value; }
    const M* operator->() const { return &value; }

    static void extract(RequestContext& ctx, Body& out, schema::Errors& e) {
        auto in = e.at("body");
        const std::size_t before = e.size();
        if (auto body = detail::json_body(ctx.request, e)) schema::Codec<M>::from_json(*body, out.value, e);
        if (e.size() > before) e.keep_number_texts(before, ctx.request.body);
    }
    static void document(boost::json::object& op, schema::Definitions& defs) {
        detail::set_request_body(op, "application/json", schema::Codec<M>::schema(defs));
        add_body_responses(op, defs);
    }
};

template <class M>
struct Form {
    M value{};
    const M& operator*() const { return value; }
    const M* operator->() const { return &value; }

    static void extract(RequestContext& ctx, Form& out, schema::Errors& e) {
        auto in = e.at("body");
        schema::decode_text_fields(detail::form_fields(ctx.request), out.value, e, true);
    }
    // Named as FastAPI names a form's fields together: Body_<operationId>.
    static void document(boost::json::object& op, schema::Definitions& defs) {
        const std::string name = "Body_" + std::string(op.at("operationId").as_string());
        auto definition = schema::Codec<M>::definition(defs);
        definition["title"] = name;
        defs.schemas[name] = std::move(definition);
        detail::set_request_body(op, "application/x-www-form-urlencoded",
                                 boost::json::object{{"$ref", defs.ref_prefix + name}});
        add_body_responses(op, defs);
        add_response(op, defs, {400, "There was an error parsing the body (multipart/form-data)"});
    }
};

}  // namespace http
