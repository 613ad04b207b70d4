// PostgreSQL through libpq, never blocking the event loop: the Database and
// Transaction of a thread, over its pool (pool.hpp) of pipelined connections
// (connection.hpp).
//
// A transaction takes a connection for itself (no statement of another request is
// queued behind its BEGIN until it ends). A connection that breaks is never handed out
// again before it has reconnected.

#include "db/postgres/pg_database.hpp"

#include "db/postgres/pool.hpp"
#include "db/postgres/stall_policy.hpp"

namespace db::postgres {

namespace {

class PgTransaction final : public Transaction {
public:
    PgTransaction(Pool& pool, std::shared_ptr<Connection> conn)
        : pool_(pool), pool_alive_(pool.alive()), conn_(std::move(conn)), generation_(conn_->generation()) {}
    ~PgTransaction() override {
        if (!open_ || !*pool_alive_) return;
        if (alive()) conn_->execute_detached("ROLLBACK");  // queued before anything else can use it
        pool_.release_exclusive(*conn_);
    }

    core::Task<Result> query(Statement statement, Params params) override {
        check();
        co_return co_await conn_->execute(statement, std::move(params));
    }
    core::Task<void> execute_script(std::string_view sql) override {
        check();
        co_await conn_->execute_script(std::string(sql));
    }
    core::Task<void> commit() override { co_await finish("COMMIT"); }
    core::Task<void> rollback() override { co_await finish("ROLLBACK"); }

private:
    bool alive() const { return conn_->state() == Connection::State::ready && conn_->generation() == generation_; }
    void check() const {
        if (!open_) throw std::logic_error("transaction already finished");
        if (!alive()) throw unavailable("the connection of this transaction was lost");
    }
    core::Task<void> finish(const char* sql) {
        check();
        open_ = false;
        ExclusiveRelease release{pool_alive_, pool_, *conn_};
        co_await conn_->execute(sql, {});
    }

    Pool& pool_;
    std::shared_ptr<const bool> pool_alive_;
    std::shared_ptr<Connection> conn_;
    std::uint64_t generation_;
    bool open_ = true;
};

class PgDatabase final : public Database {
public:
    PgDatabase(asio::io_context& ioc, const std::string& conninfo, const ConnectorOptions& options,
               std::shared_ptr<PoolRegistry> registry)
        : pool_(ioc, conninfo, options, std::move(registry)) {}

    Dialect dialect() const override { return Dialect::postgres; }

    core::Task<Result> query(Statement statement, Params params) override {
        return run(statement, std::move(params), Clock::time_point::max());
    }

    core::Task<Result> query_within(std::chrono::milliseconds timeout, Statement statement,
                                    Params params) override {
        return run(statement, std::move(params), Clock::now() + timeout);
    }

    core::Task<void> execute_script(std::string_view sql) override {
        std::string text(sql);
        auto conn = co_await pool_.acquire(true);
        ExclusiveRelease release{pool_.alive(), pool_, *conn};
        co_await conn->execute_script(std::move(text));
    }

    core::Task<std::unique_ptr<Transaction>> begin() override {
        auto conn = co_await pool_.acquire(true);
        auto tx = std::make_unique<PgTransaction>(pool_, conn);
        co_await tx->query("BEGIN", {});
        co_return tx;
    }

private:
    core::Task<Result> run(Statement statement, Params params, Clock::time_point deadline) {
        // Usually a connection is there at once, and the view is used before any wait;
        // when the pool must be waited for, the SQL is copied first (the caller's view
        // may not outlive a wait).
        auto conn = pool_.try_acquire(statement.many_rows);
        // Held up here: the connection the pool gives is stalled (then every one is), or it
        // gives none while one is (the pipelines are full of statements a stall holds).
        const bool held_up = conn ? conn->stalled() : pool_.any_stalled();
        const bool elsewhere = held_up && stall_policy::read_elsewhere_first(
                                              statement.reads_only && !statement.many_rows,
                                              pool_.registry() && pool_.registry()->several());
        if (conn && !elsewhere) co_return co_await conn->execute(statement, std::move(params), deadline);
        const std::string text(statement.sql);
        statement.sql = text;
        if (elsewhere) {
            if (auto rows = co_await read_on_another_thread(pool_, statement, params, deadline)) co_return std::move(*rows);
            if ((conn = pool_.try_acquire(statement.many_rows)))  // here after all
                co_return co_await conn->execute(statement, std::move(params), deadline);
        }
        conn = co_await pool_.acquire(false, deadline, statement.many_rows);
        co_return co_await conn->execute(statement, std::move(params), deadline);
    }

    Pool pool_;
};

class PgConnector final : public Connector {
public:
    PgConnector(std::string conninfo, ConnectorOptions options) : conninfo_(std::move(conninfo)), options_(options) {
        // A malformed URL is a bad setting, said once at start-up; an unreachable server
        // is not (it may come up later: /health says 503 until then).
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(conninfo_.c_str(), &error);
        if (!parsed) {
            std::string why = error ? error : "cannot be parsed";
            PQfreemem(error);
            while (!why.empty() && why.back() == '\n') why.pop_back();
            throw UnusableUrl(why);
        }
        PQconninfoFree(parsed);
    }
    Dialect dialect() const override { return Dialect::postgres; }
    std::unique_ptr<Database> open(asio::io_context& ioc) override {
        return std::make_unique<PgDatabase>(ioc, conninfo_, options_, registry_);
    }
    PoolStats stats() const override { return registry_->stats(); }

private:
    std::shared_ptr<PoolRegistry> registry_ = std::make_shared<PoolRegistry>();
    std::string conninfo_;
    ConnectorOptions options_;
};

}  // namespace

std::unique_ptr<Connector> make_connector(const PostgresUrl& url, const ConnectorOptions& options) {
    return std::make_unique<PgConnector>(url.conninfo, options);
}

}  // namespace db::postgres
