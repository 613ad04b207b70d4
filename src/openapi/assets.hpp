#pragma once
// The docs pages' files (Swagger UI, ReDoc) embedded into the binary at build time from
// the pinned npm packages in web/ (cmake/embed_docs_assets.cmake).

#include <span>
#include <string_view>

namespace openapi {

struct EmbeddedAsset {
    std::string_view path;  // below web/node_modules: "swagger-ui-dist/swagger-ui.css"
    std::string_view bytes;
};

std::span<const EmbeddedAsset> embedded_assets();

}  // namespace openapi
