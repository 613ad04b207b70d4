#pragma once
// Schema migrations: plain SQL files per dialect (migrations/<dialect>/NNNN_name.up.sql
// and .down.sql), built into the binary, applied in order, each in a transaction,
// recorded in schema_migrations with a SHA-256 of the up file.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/task.hpp"
#include "db/database.hpp"

namespace db {

struct EmbeddedFile {
    std::string_view path;  // "sqlite/0001_init.up.sql"
    std::string_view text;
};

// Generated at build time from migrations/.
std::span<const EmbeddedFile> embedded_migration_files();

struct Migration {
    std::int64_t version;
    std::string name;  // "0001_init"
    std::string up;
    std::string down;
    std::string checksum;  // hex SHA-256 of `up`
};

// The dialect's migrations, ordered by version.
std::vector<Migration> migrations_for(Dialect dialect);

struct MigrationStatus {
    std::string name;
    bool applied;
    std::string applied_at;
};

// A migration was edited after it was applied, or a file is missing: refused.
struct MigrationError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Migrator {
public:
    Migrator(Database& db, std::vector<Migration> migrations) : db_(db), migrations_(std::move(migrations)) {}

    // Applies every pending migration; returns the names applied.
    core::Task<std::vector<std::string>> up();
    // Reverts the newest applied migration; returns its name, or empty if none.
    core::Task<std::string> down();
    core::Task<std::vector<MigrationStatus>> status();

private:
    core::Task<void> ensure_table();
    core::Task<void> lock(Transaction& tx);
    // The applied versions, after checking each is known and unedited.
    std::vector<std::int64_t> verified(const Result& applied) const;
    const Migration* find(std::int64_t version) const;

    Database& db_;
    std::vector<Migration> migrations_;
};

}  // namespace db
