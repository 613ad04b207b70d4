#pragma once
// The asynchronous database interface every repository uses, whatever the backend:
//
//   auto rows = co_await db.query("SELECT id, title FROM items WHERE owner_id = $1", {owner});
//
// Parameters are always bound ($1, $2, ... in both dialects), never spliced into SQL.
// One Database belongs to one event-loop thread and is used only there. A statement that
// only reads says so where it is declared (db::reads), which lets a backend serve it
// apart from writes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/task.hpp"

namespace boost::asio {
class io_context;
}

namespace db {

enum class Dialect { sqlite, postgres };

using Value = std::variant<std::nullptr_t, std::int64_t, double, bool, std::string>;
using Params = std::vector<Value>;

// One row of a Result: a view of its values, valid while the Result is.
class Row {
public:
    Row(Value* values, std::size_t size) : values_(values), size_(size) {}

    std::size_t size() const { return size_; }
    bool is_null(std::size_t i) const { return std::holds_alternative<std::nullptr_t>(at(i)); }
    const Value& operator[](std::size_t i) const { return at(i); }

    // std::int64_t, double, bool, std::string, or std::optional of one (null -> nullopt).
    template <class T>
    T get(std::size_t i) const;
    // As get, but a string is moved out of the row (which keeps an empty one).
    template <class T>
    T take(std::size_t i);

private:
    Value& at(std::size_t i) const;  // std::out_of_range past the last column

    Value* values_;
    std::size_t size_;
};

// A statement's answer. The values of all rows are kept together, row after row (one
// allocation, not one per row); `rows` are views of them, made by finish().
class Result {
public:
    std::vector<std::string> columns;
    std::vector<Row> rows;
    std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE

    Result() = default;
    // A move keeps the values where they are, so the views stay valid; what is moved
    // from is left empty.
    Result(Result&& other) noexcept;
    Result& operator=(Result&& other) noexcept;
    Result(const Result& other);
    Result& operator=(const Result& other);

    bool empty() const { return rows.empty(); }

    // For the backends: the values of each row in column order, end_row() after each
    // row, finish() after the last.
    void reserve(std::size_t rows, std::size_t columns);
    void append(Value value) { values_.push_back(std::move(value)); }
    template <class T, class... Args>
    void emplace(Args&&... args) {  // a value of type T made in place
        values_.emplace_back(std::in_place_type<T>, std::forward<Args>(args)...);
    }
    void end_row() { ++row_count_; }
    void finish();

private:
    std::vector<Value> values_;
    std::size_t row_count_ = 0;
};

// A statement's SQL, and whether it only reads. A read may share a round trip with other
// requests' reads (PostgreSQL: one Sync, so one implicit transaction, for them all) and
// never waits for a writer (SQLite: the thread's own read connection). Plain SQL is taken
// as a statement that may write.
struct Statement {
    std::string_view sql;
    bool reads_only = false;
    bool many_rows = false;  // db::bulk_reads

    constexpr Statement(const char* text) : sql(text) {}
    constexpr Statement(std::string_view text) : sql(text) {}
    Statement(const std::string& text) : sql(text) {}
};

namespace detail {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

// Whether `sql` is a plain SELECT (or WITH ... SELECT) that neither writes nor locks: no
// word (outside quotes) that would make it (INSERT, UPDATE, DELETE, MERGE, SELECT INTO,
// TRUNCATE, nextval, setval, FOR UPDATE/SHARE, LOCK). Conservative: a column named so is
// refused too.
constexpr bool is_plain_select(std::string_view sql) {
    constexpr std::string_view forbidden[] = {"insert",   "update",  "delete", "merge", "into",
                                              "truncate", "nextval", "setval", "share", "lock"};
    bool first = true;
    for (std::size_t i = 0; i < sql.size();) {
        const char c = sql[i];
        if (c == '\'' || c == '"') {  // a literal or a quoted name: skipped whole
            const auto end = sql.find(c, i + 1);
            if (end == std::string_view::npos) return false;
            i = end + 1;
            continue;
        }
        if (!is_word_char(c)) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < sql.size() && is_word_char(sql[end])) ++end;
        std::string_view word = sql.substr(i, end - i);
        const auto is = [word](std::string_view lower) {
            if (word.size() != lower.size()) return false;
            for (std::size_t k = 0; k < word.size(); ++k)
                if (ascii_lower(word[k]) != lower[k]) return false;
            return true;
        };
        if (first && !is("select") && !is("with")) return false;
        first = false;
        for (std::string_view f : forbidden)
            if (is(f)) return false;
        i = end;
    }
    return !first;
}

}  // namespace detail

// `db::reads("SELECT ...")`: a statement that only reads. A backend may run a read twice
// (PostgreSQL sends a read queued behind a stalled backend to another one too, and takes
// the first answer), so a read must change nothing: checked when it is compiled, a
// statement that is not a plain SELECT (detail::is_plain_select) does not compile. Nor may
// a function it calls write.
consteval Statement reads(std::string_view sql) {
    if (!detail::is_plain_select(sql)) throw "db::reads: not a plain SELECT (it writes or locks)";
    Statement s(sql);
    s.reads_only = true;
    return s;
}

// `db::bulk_reads("SELECT ...")`: a read that returns many rows (a streamed answer's next
// batch). PostgreSQL runs it on a connection of its own where it can, so that the small
// statements pipelined together do not wait behind it.
consteval Statement bulk_reads(std::string_view sql) {
    Statement s = reads(sql);
    s.many_rows = true;
    return s;
}

class DatabaseError : public std::runtime_error {
public:
    enum class Kind { unavailable, unique_violation, foreign_key_violation, timeout, other };
    DatabaseError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

// A database URL the backend cannot serve (malformed, or a file that cannot be opened):
// a bad setting, said once at start-up.
class UnusableUrl : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Transaction {
public:
    virtual ~Transaction() = default;  // an open transaction rolls back
    virtual core::Task<Result> query(Statement statement, Params params = {}) = 0;
    virtual core::Task<void> execute_script(std::string_view sql) = 0;
    virtual core::Task<void> commit() = 0;
    virtual core::Task<void> rollback() = 0;
};

class Database {
public:
    virtual ~Database() = default;
    virtual Dialect dialect() const = 0;
    virtual core::Task<Result> query(Statement statement, Params params = {}) = 0;
    // A statement whose caller will not wait longer than `timeout` for its answer, waiting
    // for a connection included: past it, DatabaseError::timeout (a health check must
    // answer on time). The answer, if it comes later, is dropped. Backends that never
    // wait on a server (SQLite) run it as query() does.
    virtual core::Task<Result> query_within(std::chrono::milliseconds timeout, Statement statement,
                                            Params params = {});
    // Several statements, no parameters (migrations).
    virtual core::Task<void> execute_script(std::string_view sql) = 0;
    virtual core::Task<std::unique_ptr<Transaction>> begin() = 0;
};

// How a connector opens databases. What names the service (its application name, its
// temporary folders, its threads) comes from the caller.
struct ConnectorOptions {
    unsigned size = 4;                                   // connections per thread (PostgreSQL)
    std::chrono::milliseconds acquire_timeout{5000};     // wait for a usable connection
    std::chrono::milliseconds statement_timeout{30000};  // 0: none
    // How long the client waits for any answer (or a connection attempt) before it gives
    // the connection up as hung and fails what waits on it; 0: no limit.
    std::chrono::milliseconds response_timeout{35000};
    // PostgreSQL: false sends unnamed statements and no session setting (the statement
    // timeout is then the client's: it cancels a statement that runs too long), for
    // PgBouncer's transaction pooling.
    bool prepared_statements = true;
    std::string application_name;                // PostgreSQL's application_name (pg_stat_activity)
    std::string temp_dir_prefix = "/tmp/db-";    // SQLite's :memory: lives in such a folder
    std::string thread_name_prefix;              // SQLite's writer thread: <prefix>sqlite-writer
};

// A connector's connections at one moment, for metrics.
struct PoolStats {
    std::size_t open = 0;     // connections up (PostgreSQL: every thread's pool; SQLite: the writer's)
    std::size_t in_use = 0;   // of those, the ones with statements or a transaction on them
    std::size_t waiting = 0;  // requests waiting for a connection (SQLite: writes queued for the writer)
};

// Made once per process from DATABASE_URL; opens each thread's Database.
class Connector {
public:
    virtual ~Connector() = default;
    virtual Dialect dialect() const = 0;
    virtual std::unique_ptr<Database> open(boost::asio::io_context& ioc) = 0;
    // Its data lives only as long as the process (SQLite's :memory:): migrated at start.
    virtual bool ephemeral() const { return false; }
    // Every open Database's connections; callable from any thread.
    virtual PoolStats stats() const = 0;
};

// For a database URL (db/url.hpp's forms); throws UnusableUrl when it cannot be served.
std::unique_ptr<Connector> make_connector(std::string_view url, const ConnectorOptions& options = {});

}  // namespace db
