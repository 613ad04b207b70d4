#include "http/params.hpp"

namespace http::detail {

schema::TextFields parse_urlencoded(std::string_view text) {
    schema::TextFields fields;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            fields.emplace_back(percent_decode(pair.substr(0, eq), true),
                                eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
        }
        if (amp == std::string_view::npos) break;
        text.remove_prefix(amp + 1);
    }
    return fields;
}

const schema::TextFields& query_fields(RequestContext& ctx) {
    if (!ctx.query_fields) ctx.query_fields = parse_urlencoded(ctx.request.query);
    return *ctx.query_fields;
}

namespace {
std::string_view media_type(const Request& request) {
    const std::string* ct = request.headers.find("content-type");
    if (!ct) return {};
    std::string_view v = *ct;
    v = v.substr(0, v.find(';'));
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
}
}  // namespace

bool is_form(const Request& request) { return iequals(media_type(request), "application/x-www-form-urlencoded"); }

std::optional<schema::json::value> json_body(const Request& request, schema::Errors& e) {
    if (request.body.empty()) {
        e.add("missing", "Field required", nullptr);
        return std::nullopt;
    }
    // As FastAPI: no content type or application/json (or +json) is parsed as JSON; any
    // other body is validated as the raw text it is, which a model then rejects.
    const std::string_view mt = media_type(request);
    const bool json = mt.empty() || iequals(mt, "application/json") ||
                      (mt.size() > 5 && iequals(mt.substr(0, 12), "application/") && iequals(mt.substr(mt.size() - 5), "+json"));
    if (!json) return schema::detail::text_input(request.body);
    return schema::parse_json(request.body, e);
}

void add_parameter(boost::json::object& operation, std::string_view in, std::string_view name, bool required,
                   boost::json::object schema) {
    auto& params = operation["parameters"];
    if (!params.is_array()) params = boost::json::array{};
    boost::json::object p{{"name", name}, {"in", in}, {"required", required}, {"schema", std::move(schema)}};
    params.as_array().push_back(std::move(p));
}

void set_request_body(boost::json::object& operation, std::string_view content_type, boost::json::object schema) {
    boost::json::object content;
    content[content_type] = boost::json::object{{"schema", std::move(schema)}};
    operation["requestBody"] = boost::json::object{{"content", std::move(content)}, {"required", true}};
}

}  // namespace http::detail
