#include "openapi/document.hpp"

#include <algorithm>

#include "core/unicode.hpp"

namespace openapi {

namespace json = boost::json;

namespace {

// FastAPI's schemas of a 422's body.
void add_validation_error_schemas(schema::Definitions& defs) {
    defs.schemas["ValidationError"] = json::object{
        {"properties",
         json::object{
             {"loc", json::object{{"items", json::object{{"anyOf", json::array{json::object{{"type", "string"}},
                                                                                json::object{{"type", "integer"}}}}}},
                                  {"type", "array"},
                                  {"title", "Location"}}},
             {"msg", json::object{{"type", "string"}, {"title", "Message"}}},
             {"type", json::object{{"type", "string"}, {"title", "Error Type"}}}}},
        {"type", "object"},
        {"required", json::array{"loc", "msg", "type"}},
        {"title", "ValidationError"}};
    defs.schemas["HTTPValidationError"] = json::object{
        {"properties", json::object{{"detail", json::object{{"items", json::object{{"$ref", defs.ref_prefix +
                                                                                               "ValidationError"}}},
                                                            {"type", "array"},
                                                            {"title", "Detail"}}}}},
        {"type", "object"},
        {"title", "HTTPValidationError"}};
}

}  // namespace

json::object build(const std::vector<http::Route>& routes, const Info& info) {
    schema::Definitions defs;
    json::object paths;
    for (const auto& route : routes) {
        if (!route.info.describe) continue;  // not documented (the document's own route)
        auto& item = paths[route.info.path];
        if (!item.is_object()) item = json::object{};
        item.as_object()[core::utf8_lower(route.info.method)] = route.info.describe(defs);
    }
    add_validation_error_schemas(defs);
    // Sorted by name, as FastAPI lists them.
    std::vector<std::string> names;
    for (const auto& [name, _] : defs.schemas) names.emplace_back(name);
    std::sort(names.begin(), names.end());
    json::object schemas;
    for (const auto& name : names) schemas[name] = defs.schemas.at(name);

    json::object components{{"schemas", std::move(schemas)}};
    if (!info.security_schemes.empty()) components["securitySchemes"] = info.security_schemes;
    json::object document_info{{"title", info.title}, {"version", info.version}};
    if (!info.description.empty()) document_info["description"] = info.description;
    return json::object{{"openapi", "3.1.0"},
                        {"info", std::move(document_info)},
                        {"paths", std::move(paths)},
                        {"components", std::move(components)}};
}

void add_head_operations(json::object& document) {
    for (auto& [path, item] : document.at("paths").as_object()) {
        json::object& operations = item.as_object();
        const json::value* get = operations.if_contains("get");
        if (!get || operations.contains("head")) continue;
        json::object head = get->as_object();
        if (json::value* id = head.if_contains("operationId"); id && id->is_string()) {
            std::string name(id->as_string());
            if (name.ends_with("_get")) name.resize(name.size() - 4);
            id->emplace_string() = name + "_head";
        }
        for (auto& [status, response] : head["responses"].as_object()) response.as_object().erase("content");
        operations["head"] = std::move(head);
    }
}

}  // namespace openapi
