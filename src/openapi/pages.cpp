#include "openapi/pages.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <initializer_list>
#include <memory>
#include <stdexcept>

#include "openapi/assets.hpp"

namespace openapi {

namespace {

std::string_view asset(std::string_view path) {
    for (const auto& a : embedded_assets()) {
        if (a.path == path) return a.bytes;
    }
    throw std::logic_error("docs asset not embedded: " + std::string(path));
}

// Text put into HTML (an element or a double-quoted attribute).
std::string html_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A JavaScript string literal (JSON's is one).
std::string js_string(std::string_view text) {
    return boost::json::serialize(boost::json::string(text));
}

constexpr std::string_view html = "text/html; charset=utf-8";
constexpr std::string_view javascript = "text/javascript; charset=utf-8";

// The pages may load and fetch from the service only: whatever the bundled scripts try
// (ReDoc's footer loads its logo from cdn.redoc.ly), the browser asks no other host.
// ReDoc and Swagger UI set inline styles, ReDoc runs a worker from a blob: URL, and Swagger
// UI shows data: images.
constexpr const char* page_policy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
    "data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

// A GET route answering `body` with `content_type`. An embedded file is answered from the
// binary's read-only data (not copied at start-up: 3 MB of RSS that only a docs visit
// touches); a generated page is kept in `owner`.
http::Route file_route(std::string path, std::string_view content_type, std::string_view body,
                       std::shared_ptr<const std::string> owner = {}) {
    http::RouteInfo info;
    info.method = "GET";
    info.path = std::move(path);
    return http::Route{std::move(info),
                       [body, owner, type = std::string(content_type)](
                           http::RequestContext&) -> core::Task<http::Response> {
                           http::Response response;
                           response.headers.set("content-type", type);
                           // The files change only with the binary; an hour is short enough.
                           response.headers.set("cache-control", "public, max-age=3600");
                           if (type == html)
                               response.headers.set("content-security-policy", page_policy);
                           response.body = body;
                           co_return response;
                       }};
}

// A route answering generated text.
http::Route text_route(std::string path, std::string_view content_type, std::string text) {
    auto owner = std::make_shared<const std::string>(std::move(text));
    const std::string_view body = *owner;
    return file_route(std::move(path), content_type, body, std::move(owner));
}

// The pieces, one after the other (no chain of operator+, which g++ 12 -O3 misreads).
std::string cat(std::initializer_list<std::string_view> pieces) {
    std::string out;
    for (const auto piece : pieces) out += piece;
    return out;
}

// FastAPI's get_swagger_ui_html, its configuration in a file of its own rather than an
// inline script (a Content-Security-Policy can then allow scripts from the service only).
void add_swagger_ui(std::vector<http::Route>& routes, const Pages& p) {
    const std::string& base = p.docs_url;
    const std::string at = html_escape(base);
    routes.push_back(text_route(
        base, html,
        cat({"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
             "<link type=\"text/css\" rel=\"stylesheet\" href=\"", at, "/swagger-ui.css\">\n",
             "<link rel=\"icon\" type=\"image/png\" href=\"", at, "/favicon.png\">\n", "<title>",
             html_escape(p.title), " - Swagger UI</title>\n",
             "</head>\n<body>\n<div id=\"swagger-ui\"></div>\n", "<script src=\"", at,
             "/swagger-ui-bundle.js\"></script>\n", "<script src=\"", at,
             "/swagger-initializer.js\"></script>\n", "</body>\n</html>\n"})));
    routes.push_back(text_route(
        base + "/swagger-initializer.js", javascript,
        cat({"window.ui = SwaggerUIBundle({\n", "  url: ", js_string(p.openapi_url), ",\n",
             "  dom_id: \"#swagger-ui\",\n", "  layout: \"BaseLayout\",\n",
             "  deepLinking: true,\n", "  showExtensions: true,\n",
             "  showCommonExtensions: true,\n", "  oauth2RedirectUrl: window.location.origin + ",
             js_string(base + "/oauth2-redirect"), ",\n",
             // No badge fetched from validator.swagger.io.
             "  validatorUrl: null,\n",
             "  presets: [SwaggerUIBundle.presets.apis, "
             "SwaggerUIBundle.SwaggerUIStandalonePreset],\n",
             "});\n"})));
    const auto file = [&](std::string_view name, std::string_view type, std::string_view embedded) {
        routes.push_back(file_route(cat({base, name}), type, asset(embedded)));
    };
    file("/oauth2-redirect", html, "swagger-ui-dist/oauth2-redirect.html");
    file("/oauth2-redirect.js", javascript, "swagger-ui-dist/oauth2-redirect.js");
    file("/swagger-ui-bundle.js", javascript, "swagger-ui-dist/swagger-ui-bundle.js");
    file("/swagger-ui.css", "text/css; charset=utf-8", "swagger-ui-dist/swagger-ui.css");
    file("/favicon.png", "image/png", "swagger-ui-dist/favicon-32x32.png");
}

// FastAPI's get_redoc_html, without its Google Fonts.
void add_redoc(std::vector<http::Route>& routes, const Pages& p) {
    const std::string& base = p.redoc_url;
    const std::string at = html_escape(base);
    routes.push_back(text_route(
        base, html,
        cat({"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
             "<link rel=\"icon\" type=\"image/png\" href=\"", at, "/favicon.png\">\n", "<title>",
             html_escape(p.title), " - ReDoc</title>\n", "</head>\n<body>\n",
             "<noscript>ReDoc requires JavaScript to show the documentation.</noscript>\n",
             "<redoc spec-url=\"", html_escape(p.openapi_url), "\"></redoc>\n", "<script src=\"",
             at, "/redoc.standalone.js\"></script>\n", "</body>\n</html>\n"})));
    routes.push_back(file_route(base + "/redoc.standalone.js", javascript,
                                asset("redoc/bundles/redoc.standalone.js")));
    routes.push_back(
        file_route(base + "/favicon.png", "image/png", asset("swagger-ui-dist/favicon-32x32.png")));
}

}  // namespace

std::vector<http::Route> page_routes(const Pages& pages) {
    std::vector<http::Route> routes;
    if (!pages.docs_url.empty()) add_swagger_ui(routes, pages);
    if (!pages.redoc_url.empty()) add_redoc(routes, pages);
    return routes;
}

}  // namespace openapi
