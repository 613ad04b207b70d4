#include "db/url.hpp"

namespace db {

std::variant<DatabaseUrl, std::string> parse_database_url(std::string_view url) {
    auto strip = [&](std::string_view prefix) {
        if (!url.starts_with(prefix)) return false;
        url.remove_prefix(prefix.size());
        return true;
    };
    const std::string_view original = url;
    if (strip("sqlite+aiosqlite://") || strip("sqlite://")) {
        if (url.empty() || url == "/" || url == "/:memory:") return DatabaseUrl{SqliteUrl{":memory:"}};
        if (!url.starts_with('/'))
            return std::string("expected sqlite:///relative/path.db or sqlite:////absolute/path.db");
        url.remove_prefix(1);  // sqlite:///x -> "x"; sqlite:////x -> "/x"
        if (const auto q = url.find('?'); q != std::string_view::npos) url = url.substr(0, q);
        return DatabaseUrl{SqliteUrl{std::string(url)}};
    }
    for (std::string_view scheme : {"postgresql+asyncpg://", "postgresql+psycopg://", "postgresql+psycopg2://",
                                    "postgresql://", "postgres://"}) {
        if (original.starts_with(scheme)) {
            std::string conninfo = "postgresql://";
            conninfo += original.substr(scheme.size());
            return DatabaseUrl{PostgresUrl{std::move(conninfo)}};
        }
    }
    return std::string("unsupported scheme (expected sqlite:/// or postgresql://)");
}

}  // namespace db
