#pragma once
// The API documentation pages, as FastAPI serves them: Swagger UI at /docs (with its
// OAuth2 redirect page) and ReDoc at /redoc, showing the document at the OpenAPI URL.
// Unlike FastAPI's, they load nothing from another host: their JavaScript and CSS are
// embedded in the binary (assets.hpp) and served beside them.

#include <string>
#include <vector>

#include "http/app.hpp"

namespace openapi {

struct Pages {
    std::string docs_url;     // Swagger UI; empty: not served
    std::string redoc_url;    // ReDoc; empty: not served
    std::string openapi_url;  // the document both show (not empty)
    std::string title;        // the document's title
};

// GET routes of the pages and their files, left out of the document. Under docs_url:
// the page, /oauth2-redirect (the page Swagger UI's OAuth2 flows return to),
// /oauth2-redirect.js, /swagger-ui-bundle.js, /swagger-ui.css, /swagger-initializer.js and
// /favicon.png; under redoc_url: the page, /redoc.standalone.js and /favicon.png.
std::vector<http::Route> page_routes(const Pages& pages);

}  // namespace openapi
