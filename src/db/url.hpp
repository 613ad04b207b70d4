#pragma once
// A database URL in the forms users of the original (SQLAlchemy) know.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace db {

struct SqliteUrl {
    std::string path;  // a file path, or ":memory:"
    bool in_memory() const { return path == ":memory:"; }
};

struct PostgresUrl {
    std::string conninfo;  // a libpq connection URI (postgresql://...)
};

using DatabaseUrl = std::variant<SqliteUrl, PostgresUrl>;

// sqlite:///relative/app.db, sqlite:////absolute/app.db, sqlite:///:memory:, sqlite://
// postgresql://..., postgres://..., postgresql+asyncpg://... (the original's form).
// Returns an explanation on failure.
std::variant<DatabaseUrl, std::string> parse_database_url(std::string_view url);

}  // namespace db
