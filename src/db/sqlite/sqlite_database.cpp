#include "db/sqlite/sqlite_database.hpp"

#include "config/settings.hpp"
#include "core/unicode.hpp"

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>
#include <unordered_map>

namespace db::sqlite {

namespace {

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

class Connection {
public:
    explicit Connection(const std::string& path) {
        const int rc = sqlite3_open_v2(path.c_str(), &conn_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            std::string message = "cannot open SQLite database " + path + ": " +
                                  (conn_ ? sqlite3_errmsg(conn_) : sqlite3_errstr(rc));
            sqlite3_close(conn_);
            throw DatabaseError(DatabaseError::Kind::unavailable, message);
        }
        sqlite3_busy_timeout(conn_, kBusyTimeoutMs);
        // lower() as Unicode lower-cases (SQLite's folds ASCII only), so that e-mails are
        // unique and found regardless of case as on PostgreSQL (migration 0003 rebuilt
        // the index on lower(email) with it).
        sqlite3_create_function_v2(conn_, "lower", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                   &unicode_lower, nullptr, nullptr, nullptr);
        exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    }
    ~Connection() {
        for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
        sqlite3_close(conn_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void exec(std::string_view sql) {
        const std::string text(sql);
        char* err = nullptr;
        const int rc = sqlite3_exec(conn_, text.c_str(), nullptr, nullptr, &err);
        if (rc != SQLITE_OK) {
            std::string message = err ? err : sqlite3_errstr(rc);
            sqlite3_free(err);
            fail(nullptr, rc, message);
        }
    }

    Result run(std::string_view sql, const Params& params) {
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

private:
    sqlite3_stmt* prepare(std::string_view sql) {
        auto it = statements_.find(std::string(sql));
        if (it != statements_.end()) return it->second;
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v3(conn_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                          &stmt, nullptr);
        if (rc != SQLITE_OK) fail(conn_, rc, "cannot prepare statement");
        statements_.emplace(std::string(sql), stmt);
        return stmt;
    }

    static void bind(sqlite3_stmt* stmt, int i, const Value& v) {
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

    static Value column(sqlite3_stmt* stmt, int c) {
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

    sqlite3* conn_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// A thread's database. SQLite runs each statement at once on the calling thread (it is
// local and fast); a transaction holds the connection across its awaits, so other
// requests of this thread wait for it in order instead of landing inside it.
class SqliteDatabase final : public Database {
public:
    SqliteDatabase(const std::string& path, boost::asio::io_context& ioc) : conn_(path), ioc_(ioc) {}

    Dialect dialect() const override { return Dialect::sqlite; }

    core::Task<Result> query(std::string_view sql, Params params) override {
        if (!held_) co_return conn_.run(sql, params);
        const std::string text(sql);  // the caller's view may not outlive the wait
        co_await acquire();
        Released release{*this};
        co_return conn_.run(text, params);
    }

    core::Task<void> execute_script(std::string_view sql) override {
        if (!held_) {
            conn_.exec(sql);
            co_return;
        }
        const std::string text(sql);
        co_await acquire();
        Released release{*this};
        conn_.exec(text);
    }

    core::Task<std::unique_ptr<Transaction>> begin() override;

    struct Acquire {
        SqliteDatabase& db;
        bool await_ready() {
            if (db.held_) return false;
            db.held_ = true;
            return true;
        }
        void await_suspend(std::coroutine_handle<> h) { db.waiters_.push_back(h); }
        void await_resume() const noexcept {}
    };
    Acquire acquire() { return Acquire{*this}; }

    // Passes the connection to the next waiter, on a fresh turn of the loop.
    void release() {
        if (waiters_.empty()) {
            held_ = false;
            return;
        }
        auto next = waiters_.front();
        waiters_.pop_front();
        boost::asio::post(ioc_, [next] { next.resume(); });
    }

    struct Released {
        SqliteDatabase& db;
        ~Released() { db.release(); }
    };

    Connection conn_;

private:
    boost::asio::io_context& ioc_;
    bool held_ = false;
    std::deque<std::coroutine_handle<>> waiters_;
};

class SqliteTransaction final : public Transaction {
public:
    explicit SqliteTransaction(SqliteDatabase& db) : db_(db) {}
    ~SqliteTransaction() override {
        if (open_) {
            try {
                db_.conn_.exec("ROLLBACK");
            } catch (const std::exception&) {
                // ROLLBACK fails only when SQLite has already ended the transaction itself
                // (after certain errors); either way it is over.
            }
            db_.release();
        }
    }

    core::Task<Result> query(std::string_view sql, Params params) override {
        co_return db_.conn_.run(sql, params);
    }
    core::Task<void> execute_script(std::string_view sql) override {
        db_.conn_.exec(sql);
        co_return;
    }
    core::Task<void> commit() override {
        finish("COMMIT");
        co_return;
    }
    core::Task<void> rollback() override {
        finish("ROLLBACK");
        co_return;
    }

private:
    void finish(const char* sql) {
        if (!open_) throw std::logic_error("transaction already finished");
        open_ = false;
        SqliteDatabase::Released release{db_};
        db_.conn_.exec(sql);
    }

    SqliteDatabase& db_;
    bool open_ = true;
};

core::Task<std::unique_ptr<Transaction>> SqliteDatabase::begin() {
    co_await acquire();
    try {
        // IMMEDIATE takes the write lock now, so two writers never deadlock on upgrade.
        conn_.exec("BEGIN IMMEDIATE");
    } catch (...) {
        release();
        throw;
    }
    co_return std::make_unique<SqliteTransaction>(*this);
}

class SqliteConnector final : public Connector {
public:
    explicit SqliteConnector(const config::SqliteUrl& url) {
        if (url.in_memory()) {
            char dir[] = "/tmp/items-api-XXXXXX";
            if (!mkdtemp(dir)) throw std::runtime_error("DATABASE_URL: cannot create a temporary folder for :memory:");
            temp_dir_ = dir;
            path_ = temp_dir_ + "/memory.db";
        } else {
            path_ = url.path;
            const auto parent = std::filesystem::path(path_).parent_path();
            std::error_code ec;
            if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        }
        // Open once now so that a bad path fails at start-up, not at the first request.
        try {
            Connection probe(path_);
        } catch (const DatabaseError& e) {
            throw config::SettingsError("DATABASE_URL", e.what());
        }
    }
    ~SqliteConnector() override {
        if (!temp_dir_.empty()) {
            std::error_code ec;  // best effort: a leftover temporary folder harms nothing
            std::filesystem::remove_all(temp_dir_, ec);
        }
    }

    Dialect dialect() const override { return Dialect::sqlite; }
    std::unique_ptr<Database> open(boost::asio::io_context& ioc) override {
        return std::make_unique<SqliteDatabase>(path_, ioc);
    }

private:
    std::string path_;
    std::string temp_dir_;
};

}  // namespace

std::unique_ptr<Connector> make_connector(const config::SqliteUrl& url) {
    return std::make_unique<SqliteConnector>(url);
}

}  // namespace db::sqlite
