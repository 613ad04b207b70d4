#pragma once
// The asynchronous database interface every repository uses, whatever the backend:
//
//   auto rows = co_await db.query("SELECT id, title FROM items WHERE owner_id = $1", {owner});
//
// Parameters are always bound ($1, $2, ... in both dialects), never spliced into SQL.
// One Database belongs to one event-loop thread and is used only there.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/database_url.hpp"
#include "core/task.hpp"

namespace boost::asio {
class io_context;
}

namespace db {

enum class Dialect { sqlite, postgres };

using Value = std::variant<std::nullptr_t, std::int64_t, double, bool, std::string>;
using Params = std::vector<Value>;

class Row {
public:
    explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

    std::size_t size() const { return values_.size(); }
    bool is_null(std::size_t i) const { return std::holds_alternative<std::nullptr_t>(values_.at(i)); }
    const Value& operator[](std::size_t i) const { return values_.at(i); }

    // std::int64_t, double, bool, std::string, or std::optional of one (null -> nullopt).
    template <class T>
    T get(std::size_t i) const;
    // As get, but a string is moved out of the row (which keeps an empty one).
    template <class T>
    T take(std::size_t i);

private:
    std::vector<Value> values_;
};

struct Result {
    std::vector<std::string> columns;
    std::vector<Row> rows;
    std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE

    bool empty() const { return rows.empty(); }
};

class DatabaseError : public std::runtime_error {
public:
    enum class Kind { unavailable, unique_violation, foreign_key_violation, timeout, other };
    DatabaseError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

class Transaction {
public:
    virtual ~Transaction() = default;  // an open transaction rolls back
    virtual core::Task<Result> query(std::string_view sql, Params params = {}) = 0;
    virtual core::Task<void> execute_script(std::string_view sql) = 0;
    virtual core::Task<void> commit() = 0;
    virtual core::Task<void> rollback() = 0;
};

class Database {
public:
    virtual ~Database() = default;
    virtual Dialect dialect() const = 0;
    virtual core::Task<Result> query(std::string_view sql, Params params = {}) = 0;
    // Several statements, no parameters (migrations).
    virtual core::Task<void> execute_script(std::string_view sql) = 0;
    virtual core::Task<std::unique_ptr<Transaction>> begin() = 0;
};

struct PoolOptions {
    unsigned size = 4;                                        // connections per thread (PostgreSQL)
    std::chrono::milliseconds acquire_timeout{5000};          // wait for a usable connection
    std::chrono::milliseconds statement_timeout{30000};       // 0: none
};

// Made once per process from DATABASE_URL; opens each thread's Database.
class Connector {
public:
    virtual ~Connector() = default;
    virtual Dialect dialect() const = 0;
    virtual std::unique_ptr<Database> open(boost::asio::io_context& ioc) = 0;
};

// Throws std::runtime_error naming DATABASE_URL when the URL cannot be served.
std::unique_ptr<Connector> make_connector(const config::DatabaseUrl& url, const PoolOptions& options = {});

}  // namespace db
