#include "http/params.hpp"

#include "core/json_text.hpp"
#include "core/unicode.hpp"

namespace http::detail {

namespace {

// Text fields as Starlette reads them: bytes that are not UTF-8 become U+FFFD, so that
// what reaches a model (and a database) is always valid text.
std::string as_text(std::string s) {
    return core::is_ascii(s) ? s : core::utf8_sanitized(s);
}

}  // namespace

schema::TextFields parse_urlencoded(std::string_view text) {
    schema::TextFields fields;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            fields.emplace_back(
                as_text(percent_decode(pair.substr(0, eq), true)),
                eq == std::string_view::npos ? std::string() : as_text(percent_decode(pair.substr(eq + 1), true)));
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

namespace {

// A parameter of the Content-Type header (`boundary=...`, quoted or not); empty if absent.
std::string content_type_parameter(const Request& request, std::string_view name) {
    const std::string* ct = request.headers.find("content-type");
    if (!ct) return {};
    std::string_view rest = *ct;
    for (auto semi = rest.find(';'); semi != std::string_view::npos; semi = rest.find(';')) {
        rest.remove_prefix(semi + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
        const auto eq = rest.find('=');
        if (eq == std::string_view::npos || !iequals(rest.substr(0, eq), name)) continue;
        std::string_view value = rest.substr(eq + 1);
        if (!value.empty() && value.front() == '"') {
            value.remove_prefix(1);
            return std::string(value.substr(0, value.find('"')));
        }
        value = value.substr(0, value.find(';'));
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        return std::string(value);
    }
    return {};
}

// The `name` of a part's Content-Disposition: form-data; name="..." header.
std::optional<std::string> disposition_name(std::string_view headers) {
    while (!headers.empty()) {
        const auto eol = headers.find("\r\n");
        std::string_view line = headers.substr(0, eol);
        headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || !iequals(line.substr(0, colon), "content-disposition")) continue;
        for (auto at = line.find("name="); at != std::string_view::npos; at = line.find("name=", at + 1)) {
            if (at > 0 && line[at - 1] != ' ' && line[at - 1] != ';') continue;  // filename=
            std::string_view v = line.substr(at + 5);
            if (!v.empty() && v.front() == '"') {
                std::string name;
                for (std::size_t i = 1; i < v.size() && v[i] != '"'; ++i) {
                    if (v[i] == '\\' && i + 1 < v.size()) ++i;
                    name += v[i];
                }
                return name;
            }
            return std::string(v.substr(0, v.find(';')));
        }
    }
    return std::nullopt;
}

// multipart/form-data (RFC 7578), the parts' text as it is. Written here because none of
// the project's libraries reads it (Beast has no multipart parser); a part without a
// name is skipped, a body that is not multipart with this boundary is nullopt.
std::optional<schema::TextFields> parse_multipart(std::string_view body, std::string_view boundary) {
    if (boundary.empty() || boundary.size() > 70) return std::nullopt;
    const std::string delimiter = "--" + std::string(boundary);
    // The preamble before the first delimiter is ignored; the first must start a line.
    auto start = body.find(delimiter);
    if (start == std::string_view::npos || (start != 0 && (start < 2 || body.substr(start - 2, 2) != "\r\n")))
        return std::nullopt;
    schema::TextFields fields;
    const std::string next = "\r\n" + delimiter;
    std::size_t at = start + delimiter.size();
    while (true) {
        if (body.substr(at, 2) == "--") return fields;  // the close delimiter
        // Transport padding, then the line break that ends the delimiter line.
        while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
        if (body.substr(at, 2) != "\r\n") return std::nullopt;
        at += 2;
        const auto end = body.find(next, at);
        if (end == std::string_view::npos) return std::nullopt;
        const std::string_view part = body.substr(at, end - at);
        const auto blank = part.find("\r\n\r\n");
        const bool no_headers = part.substr(0, 2) == "\r\n";
        if (blank == std::string_view::npos && !no_headers) return std::nullopt;
        const std::string_view headers = no_headers ? std::string_view() : part.substr(0, blank);
        const std::string_view content = no_headers ? part.substr(2) : part.substr(blank + 4);
        if (auto name = disposition_name(headers))
            fields.emplace_back(as_text(std::move(*name)), as_text(std::string(content)));
        at = end + next.size();
    }
}

}  // namespace

schema::TextFields form_fields(const Request& request) {
    const std::string_view mt = media_type(request);
    if (iequals(mt, "application/x-www-form-urlencoded")) return parse_urlencoded(request.body);
    if (iequals(mt, "multipart/form-data")) {
        auto fields = parse_multipart(request.body, content_type_parameter(request, "boundary"));
        if (!fields) throw HttpError{400, "There was an error parsing the body", {}};
        return std::move(*fields);
    }
    return {};
}

std::optional<schema::json::value> json_body(const Request& request, schema::Errors& e) {
    if (request.body.empty()) {
        e.add("missing", "Field required", nullptr);
        return std::nullopt;
    }
    // As FastAPI: no content type or application/json (or +json) is parsed as JSON; any
    // other body is validated as the raw text it is, which a model then rejects.
    const std::string_view mt = media_type(request);
    const bool json =
        mt.empty() || iequals(mt, "application/json") ||
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

namespace http {

namespace {
// The schema of every {"detail": "..."} error body, registered once.
boost::json::object error_body_schema(schema::Definitions& defs) {
    if (!defs.schemas.contains("HTTPError")) {
        defs.schemas["HTTPError"] = boost::json::object{
            {"properties",
             boost::json::object{{"detail", boost::json::object{{"type", "string"}, {"title", "Detail"}}}}},
            {"type", "object"},
            {"required", boost::json::array{"detail"}},
            {"title", "HTTPError"}};
    }
    return boost::json::object{{"$ref", defs.ref_prefix + "HTTPError"}};
}
}  // namespace

boost::json::object document_headers(const std::vector<DocumentedResponse::Header>& headers, bool required) {
    boost::json::object out;
    for (const auto& h : headers)
        out[h.name] = boost::json::object{
            {"description", h.description}, {"required", required}, {"schema", boost::json::object{{"type", "string"}}}};
    return out;
}

void add_response(boost::json::object& operation, schema::Definitions& defs, const DocumentedResponse& response,
                  bool replace) {
    auto& responses = operation["responses"];
    if (!responses.is_object()) responses = boost::json::object{};
    const auto key = std::to_string(response.status);
    if (auto* existing = responses.as_object().if_contains(key); existing && !replace) {
        auto& description = existing->as_object()["description"];
        const std::string now(description.as_string());
        if (now.find(response.description) == std::string::npos) description = now + "; " + response.description;
        // Headers only one of the causes sends are documented, but not as required.
        for (const auto& h : response.headers) {
            auto& headers = existing->as_object()["headers"];
            if (!headers.is_object()) headers = boost::json::object{};
            if (headers.as_object().contains(h.name)) continue;
            headers.as_object()[h.name] = document_headers({h}, false).at(h.name);
        }
        return;
    }
    boost::json::object documented{{"description", response.description}};
    if (!response.headers.empty()) documented["headers"] = document_headers(response.headers, true);
    auto schema = response.schema.empty() ? error_body_schema(defs) : response.schema;
    documented["content"] =
        boost::json::object{{"application/json", boost::json::object{{"schema", std::move(schema)}}}};
    responses.as_object()[key] = std::move(documented);
}

void add_body_responses(boost::json::object& operation, schema::Definitions& defs) {
    add_response(operation, defs, {413, "Request body too large (over 1 MiB)"});
}

}  // namespace http
