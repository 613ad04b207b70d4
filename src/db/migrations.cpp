#include "db/migrations.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <map>

namespace db {

namespace {

std::string sha256_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " checksum VARCHAR(64) NOT NULL,"
    " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)";

constexpr std::string_view kApplied = "SELECT version, checksum FROM schema_migrations ORDER BY version";

}  // namespace

std::vector<Migration> migrations_for(Dialect dialect) {
    const std::string prefix = dialect == Dialect::sqlite ? "sqlite/" : "postgres/";
    std::map<std::int64_t, Migration> found;
    for (const EmbeddedFile& f : embedded_migration_files()) {
        if (!f.path.starts_with(prefix)) continue;
        std::string_view file = f.path.substr(prefix.size());
        const bool is_up = file.ends_with(".up.sql");
        const bool is_down = file.ends_with(".down.sql");
        if (!is_up && !is_down) continue;
        const std::string name(file.substr(0, file.size() - (is_up ? 7 : 9)));
        const std::int64_t version = std::stoll(name.substr(0, name.find('_')));
        Migration& m = found[version];
        m.version = version;
        m.name = name;
        (is_up ? m.up : m.down) = std::string(f.text);
    }
    std::vector<Migration> out;
    for (auto& [v, m] : found) {
        if (m.up.empty()) throw MigrationError("migration " + m.name + " has no .up.sql file");
        m.checksum = sha256_hex(m.up);
        out.push_back(std::move(m));
    }
    return out;
}

const Migration* Migrator::find(std::int64_t version) const {
    for (const auto& m : migrations_)
        if (m.version == version) return &m;
    return nullptr;
}

// Serialises migrators: on PostgreSQL an advisory lock held to the end of the
// transaction (replicas starting at once take turns); SQLite's BEGIN IMMEDIATE
// already holds the database's write lock.
core::Task<void> Migrator::lock(Transaction& tx) {
    if (db_.dialect() == Dialect::postgres) co_await tx.query("SELECT pg_advisory_xact_lock(7253427158290631401)");
}

core::Task<void> Migrator::ensure_table() {
    auto tx = co_await db_.begin();
    co_await lock(*tx);
    co_await tx->execute_script(kCreateTable);
    co_await tx->commit();
}

std::vector<std::int64_t> Migrator::verified(const Result& applied) const {
    std::vector<std::int64_t> versions;
    for (const Row& row : applied.rows) {
        const auto version = row.get<std::int64_t>(0);
        const auto checksum = row.get<std::string>(1);
        const Migration* m = find(version);
        if (!m)
            throw MigrationError("the database has migration " + std::to_string(version) +
                                 " applied, which this binary does not know (is it older than the database?)");
        if (m->checksum != checksum)
            throw MigrationError("migration " + m->name +
                                 " was edited after it was applied (checksum mismatch); restore the file, "
                                 "or add a new migration instead of changing an applied one");
        versions.push_back(version);
    }
    return versions;
}

core::Task<std::vector<std::string>> Migrator::up() {
    co_await ensure_table();
    std::vector<std::string> names;
    for (const Migration& m : migrations_) {
        // Each migration in its own transaction, decided under the lock: another
        // process may have applied it since we looked.
        auto tx = co_await db_.begin();
        co_await lock(*tx);
        const auto done = verified(co_await tx->query(kApplied));
        if (std::find(done.begin(), done.end(), m.version) != done.end()) {
            co_await tx->rollback();
            continue;
        }
        co_await tx->execute_script(m.up);
        // Built before the co_await: g++ 12 cannot keep a braced list in a coroutine frame.
        Params record{m.version, m.name, m.checksum};
        co_await tx->query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                           std::move(record));
        co_await tx->commit();
        names.push_back(m.name);
    }
    co_return names;
}

core::Task<std::string> Migrator::down() {
    co_await ensure_table();
    auto tx = co_await db_.begin();
    co_await lock(*tx);
    const auto done = verified(co_await tx->query(kApplied));
    if (done.empty()) {
        co_await tx->rollback();
        co_return std::string();
    }
    const Migration& m = *find(done.back());
    if (m.down.empty()) throw MigrationError("migration " + m.name + " has no .down.sql file and cannot be reverted");
    co_await tx->execute_script(m.down);
    Params version{m.version};
    co_await tx->query("DELETE FROM schema_migrations WHERE version = $1", std::move(version));
    co_await tx->commit();
    co_return m.name;
}

core::Task<std::vector<MigrationStatus>> Migrator::status() {
    co_await ensure_table();
    verified(co_await db_.query(kApplied));  // refuses edited migrations here too
    const Result r = co_await db_.query("SELECT version, CAST(applied_at AS TEXT) FROM schema_migrations");
    std::vector<MigrationStatus> out;
    for (const Migration& m : migrations_) {
        MigrationStatus s{m.name, false, {}};
        for (const Row& row : r.rows)
            if (row.get<std::int64_t>(0) == m.version) {
                s.applied = true;
                s.applied_at = row.get<std::string>(1);
            }
        out.push_back(std::move(s));
    }
    co_return out;
}

}  // namespace db
