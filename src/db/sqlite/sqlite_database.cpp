// The embedded SQLite backend. Every thread reads on a connection of its own, at once
// (SQLite is local and fast, and in WAL mode a reader never waits for the writer);
// everything else (writes, scripts, transactions) goes to the connector's one writer
// thread (writer.hpp), so that no event loop ever waits for SQLite's write lock.

#include "db/sqlite/sqlite_database.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "db/sqlite/connection.hpp"
#include "db/sqlite/writer.hpp"

namespace db::sqlite {

namespace {

// A statement for the writer thread: what it runs, with its own copy of the SQL (the
// caller's view need not outlive the wait).
std::function<Result(Connection&)> statement_job(std::string_view sql, Params params) {
    return [sql = std::string(sql), params = std::move(params)](Connection& c) { return c.run(sql, params); };
}

std::function<Result(Connection&)> script_job(std::string_view sql) {
    return [sql = std::string(sql)](Connection& c) {
        c.exec(sql);
        return Result{};
    };
}

class SqliteTransaction final : public Transaction {
public:
    SqliteTransaction(Writer& writer, std::shared_ptr<Home> home, std::uint64_t session)
        : writer_(writer), home_(std::move(home)), session_(session) {}
    ~SqliteTransaction() override {
        if (open_) writer_.abandon(session_);
    }

    core::Task<Result> query(Statement statement, Params params) override {
        check();
        co_return co_await writer_.run(home_, statement_job(statement.sql, std::move(params)), session_);
    }
    core::Task<void> execute_script(std::string_view sql) override {
        check();
        co_await writer_.run(home_, script_job(sql), session_);
    }
    core::Task<void> commit() override { co_await finish(true); }
    core::Task<void> rollback() override { co_await finish(false); }

private:
    void check() const {
        if (!open_) throw std::logic_error("transaction already finished");
    }
    core::Task<void> finish(bool commit) {
        check();
        open_ = false;
        co_await writer_.end(home_, session_, commit);
    }

    Writer& writer_;
    std::shared_ptr<Home> home_;
    std::uint64_t session_;
    bool open_ = true;
};

class SqliteDatabase final : public Database {
public:
    SqliteDatabase(const std::string& path, Writer& writer, boost::asio::io_context& ioc)
        : reader_(path), writer_(writer), home_(std::make_shared<Home>(ioc)), loop_busy_(ioc.get_executor()) {}
    // A write still running resumes nobody: this loop is going away.
    ~SqliteDatabase() override { home_->forget(); }

    Dialect dialect() const override { return Dialect::sqlite; }

    core::Task<Result> query(Statement statement, Params params) override {
        if (statement.reads_only) co_return reader_.run(statement.sql, params);
        co_return co_await writer_.run(home_, statement_job(statement.sql, std::move(params)));
    }

    core::Task<void> execute_script(std::string_view sql) override { co_await writer_.run(home_, script_job(sql)); }

    core::Task<std::unique_ptr<Transaction>> begin() override {
        const auto session = writer_.new_session();
        co_await writer_.begin(home_, session);
        co_return std::make_unique<SqliteTransaction>(writer_, home_, session);
    }

private:
    Connection reader_;
    Writer& writer_;
    std::shared_ptr<Home> home_;
    // The loop always has work while its database exists (as PostgreSQL's sockets give
    // it): an answer the writer posts back is never missed by a loop that ran out.
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> loop_busy_;
};

class SqliteConnector final : public Connector {
public:
    SqliteConnector(const SqliteUrl& url, const ConnectorOptions& options) : ephemeral_(url.in_memory()) {
        if (ephemeral_) {
            std::string dir = options.temp_dir_prefix + "XXXXXX";
            if (!mkdtemp(dir.data())) throw UnusableUrl("cannot create a temporary folder for :memory:");
            temp_dir_ = dir;
            path_ = temp_dir_ + "/memory.db";
        } else {
            path_ = url.path;
            const auto parent = std::filesystem::path(path_).parent_path();
            std::error_code ec;
            if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        }
        // Opened now, so that a bad path fails at start-up, not at the first request.
        try {
            writer_ = std::make_unique<Writer>(path_, options.thread_name_prefix + "sqlite-writer");
        } catch (const DatabaseError& e) {
            throw UnusableUrl(e.what());
        }
    }
    ~SqliteConnector() override {
        writer_.reset();
        if (!temp_dir_.empty()) {
            std::error_code ec;  // best effort: a leftover temporary folder harms nothing
            std::filesystem::remove_all(temp_dir_, ec);
        }
    }

    Dialect dialect() const override { return Dialect::sqlite; }
    std::unique_ptr<Database> open(boost::asio::io_context& ioc) override {
        return std::make_unique<SqliteDatabase>(path_, *writer_, ioc);
    }
    bool ephemeral() const override { return ephemeral_; }
    // The writer's connection: the loops' read connections are used only while their loop
    // runs a statement, never waited for.
    PoolStats stats() const override {
        const auto s = writer_->stats();
        return PoolStats{1, s.busy ? 1u : 0u, s.queued};
    }

private:
    bool ephemeral_;
    std::string path_;
    std::string temp_dir_;
    std::unique_ptr<Writer> writer_;
};

}  // namespace

std::unique_ptr<Connector> make_connector(const SqliteUrl& url, const ConnectorOptions& options) {
    return std::make_unique<SqliteConnector>(url, options);
}

}  // namespace db::sqlite
