#include "db/sqlite/connection.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <stdexcept>

#include "core/unicode.hpp"

namespace db::sqlite {

namespace {

// How long a statement waits for a lock another process holds (another process of the
// service on the same file, `migrate` beside `serve`). Within this process only the
// writer thread ever waits for one (see writer.hpp).
constexpr int kBusyTimeoutMs = 5000;

[[noreturn]] void fail(sqlite3* conn, int rc, std::string_view what) {
    const int code = rc & 0xff;
    std::string message = std::string(what) + ": " + (conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
    using Kind = DatabaseError::Kind;
    Kind kind = Kind::other;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        kind = Kind::unique_violation;
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        kind = Kind::foreign_key_violation;
    else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        kind = Kind::timeout;
    else if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CORRUPT ||
             code == SQLITE_NOTADB)
        kind = Kind::unavailable;
    throw DatabaseError(kind, message);
}

// Which parameter a placeholder takes: "$3" and "?3" are the third, a bare "?" the next.
std::size_t parameter_index(sqlite3_stmt* stmt, int i) {
    const char* name = sqlite3_bind_parameter_name(stmt, i);
    if (!name) return static_cast<std::size_t>(i - 1);
    return static_cast<std::size_t>(std::strtol(name + 1, nullptr, 10) - 1);
}

void unicode_lower(sqlite3_context* ctx, int, sqlite3_value** argv) {
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    if (!text) return sqlite3_result_error_nomem(ctx);
    const std::string lower =
        core::utf8_lower(std::string_view(text, static_cast<std::size_t>(sqlite3_value_bytes(argv[0]))));
    sqlite3_result_text64(ctx, lower.data(), lower.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void bind(sqlite3_stmt* stmt, int i, const Value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>)
                sqlite3_bind_null(stmt, i);
            else if constexpr (std::is_same_v<T, std::int64_t>)
                sqlite3_bind_int64(stmt, i, x);
            else if constexpr (std::is_same_v<T, double>)
                sqlite3_bind_double(stmt, i, x);
            else if constexpr (std::is_same_v<T, bool>)
                sqlite3_bind_int(stmt, i, x ? 1 : 0);
            else
                sqlite3_bind_text(stmt, i, x.data(), static_cast<int>(x.size()), SQLITE_TRANSIENT);
        },
        v);
}

Value column(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER: return static_cast<std::int64_t>(sqlite3_column_int64(stmt, c));
        case SQLITE_FLOAT: return sqlite3_column_double(stmt, c);
        case SQLITE_NULL: return nullptr;
        default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            return std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)));
        }
    }
}

}  // namespace

Connection::Connection(const std::string& path) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &conn_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string message =
            "cannot open SQLite database " + path + ": " + (conn_ ? sqlite3_errmsg(conn_) : sqlite3_errstr(rc));
        sqlite3_close(conn_);
        throw DatabaseError(DatabaseError::Kind::unavailable, message);
    }
    sqlite3_busy_timeout(conn_, kBusyTimeoutMs);
    // lower() as Unicode lower-cases (SQLite's folds ASCII only), so that e-mails are
    // unique and found regardless of case as on PostgreSQL (migration 0003 rebuilt the
    // index on lower(email) with it).
    sqlite3_create_function_v2(conn_, "lower", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                               &unicode_lower, nullptr, nullptr, nullptr);
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

Connection::~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(conn_);
}

void Connection::exec(std::string_view sql) {
    const std::string text(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(conn_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string message = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        fail(nullptr, rc, message);
    }
}

Result Connection::run(std::string_view sql, const Params& params) {
    sqlite3_stmt* stmt = prepare(sql);
    struct Reset {
        sqlite3_stmt* s;
        ~Reset() {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
        }
    } reset{stmt};

    const int count = sqlite3_bind_parameter_count(stmt);
    for (int i = 1; i <= count; ++i) {
        const std::size_t index = parameter_index(stmt, i);
        if (index >= params.size())
            throw std::invalid_argument("SQL refers to parameter " + std::to_string(index + 1) + " of " +
                                        std::to_string(params.size()));
        bind(stmt, i, params[index]);
    }

    Result result;
    const int columns = sqlite3_column_count(stmt);
    for (int c = 0; c < columns; ++c) result.columns.emplace_back(sqlite3_column_name(stmt, c));
    for (;;) {
        const int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) fail(conn_, sqlite3_extended_errcode(conn_), "query failed");
        for (int c = 0; c < columns; ++c) result.append(column(stmt, c));
        result.end_row();
    }
    result.finish();
    result.affected = sqlite3_changes64(conn_);
    return result;
}

sqlite3_stmt* Connection::prepare(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(conn_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                      nullptr);
    if (rc != SQLITE_OK) fail(conn_, rc, "cannot prepare statement");
    statements_.emplace(std::string(sql), stmt);
    return stmt;
}

}  // namespace db::sqlite
