// DATABASE_URL's forms, as users of the original (SQLAlchemy) write them: db's to read.

#include <gtest/gtest.h>

#include "db/database.hpp"
#include "db/url.hpp"

namespace {

TEST(DatabaseUrl, AcceptsSqlAlchemyForms) {
    auto sqlite_path = [](std::string_view url) {
        return std::get<db::SqliteUrl>(std::get<db::DatabaseUrl>(db::parse_database_url(url))).path;
    };
    EXPECT_EQ(sqlite_path("sqlite:///relative/app.db"), "relative/app.db");
    EXPECT_EQ(sqlite_path("sqlite:////absolute/app.db"), "/absolute/app.db");
    EXPECT_EQ(sqlite_path("sqlite:///:memory:"), ":memory:");
    EXPECT_EQ(sqlite_path("sqlite://"), ":memory:");
    EXPECT_EQ(sqlite_path("sqlite+aiosqlite:///x.db"), "x.db");
    auto pg = std::get<db::PostgresUrl>(
        std::get<db::DatabaseUrl>(db::parse_database_url("postgresql+asyncpg://u:p@db:5432/app")));
    EXPECT_EQ(pg.conninfo, "postgresql://u:p@db:5432/app");
}

TEST(DatabaseUrl, AnotherSchemeCannotBeServed) {
    EXPECT_TRUE(std::holds_alternative<std::string>(db::parse_database_url("mysql://x")));
    EXPECT_THROW(db::make_connector("mysql://x"), db::UnusableUrl);
}

TEST(DatabaseUrl, AnInMemoryDatabaseIsEphemeral) {
    EXPECT_TRUE(db::make_connector("sqlite:///:memory:")->ephemeral());
}

}  // namespace
