// PostgreSQL through libpq, never blocking the event loop.
//
// A connection is non-blocking and in pipeline mode: each statement is sent as
// [Parse] Bind/Execute Sync (Parse only the first time: named prepared statements,
// once per connection) and answered in order, so statements of many requests can be
// in flight on one connection at once. Reads of an already prepared statement share
// one Sync per turn of the loop (see Conn::execute). Socket readiness comes from Asio; the
// connection's I/O is a chain of callbacks holding the connection alive
// (shared_from_this), so nothing is left suspended when the loop goes away.
//
// A transaction takes a connection for itself (no statement of another request is
// queued behind its BEGIN until it ends). A connection that breaks fails its
// statements with DatabaseError::unavailable and reconnects with backoff; it is never
// handed out again before it has reconnected.

#include "db/postgres/pg_database.hpp"

#include <libpq-fe.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <charconv>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <deque>
#include <list>
#include <unordered_map>

#include "config/settings.hpp"
#include "core/asio_op.hpp"
#include "core/log.hpp"

namespace db::postgres {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPipelineDepth = 64;  // statements queued on one connection before waiting
constexpr std::size_t kSpillDepth = 32;        // statements queued before the next connection is used
constexpr auto kMinBackoff = 100ms;
constexpr auto kWatchInterval = 100ms;  // how often deadlines are checked while statements wait
constexpr auto kMaxBackoff = 5s;

// PostgreSQL type OIDs (pg_type.dat) whose values are read as numbers or booleans.
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700, kFloat8 = 701;

DatabaseError::Kind kind_of(std::string_view sqlstate) {
    using Kind = DatabaseError::Kind;
    if (sqlstate == "23505") return Kind::unique_violation;
    if (sqlstate == "23503") return Kind::foreign_key_violation;
    if (sqlstate == "57014" || sqlstate == "55P03") return Kind::timeout;  // statement timeout, lock timeout
    if (sqlstate.starts_with("08") || sqlstate.starts_with("57P")) return Kind::unavailable;
    return Kind::other;
}

DatabaseError error_of(const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string message = PQresultErrorMessage(r);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return DatabaseError(kind_of(state ? state : ""), message);
}

DatabaseError unavailable(std::string_view why) {
    return DatabaseError(DatabaseError::Kind::unavailable, "database unavailable: " + std::string(why));
}

// Appends the value at (row, col) to `out`, made in place.
void append_value(Result& out, const PGresult* r, int row, int col, Oid type) {
    const int length = PQgetlength(r, row, col);
    if (length == 0 && PQgetisnull(r, row, col)) return out.emplace<std::nullptr_t>();  // only an empty value may be NULL
    const char* text = PQgetvalue(r, row, col);
    switch (type) {
        case kBool: return out.emplace<bool>(text[0] == 't');
        case kInt2:
        case kInt4:
        case kInt8:
        case kOid: {
            std::int64_t v = 0;
            std::from_chars(text, text + length, v);
            return out.emplace<std::int64_t>(v);
        }
        case kFloat4:
        case kFloat8: return out.emplace<double>(std::strtod(text, nullptr));
        default: return out.emplace<std::string>(text, static_cast<std::size_t>(length));
    }
}

Result result_of(const PGresult* r) {
    Result out;
    const int columns = PQnfields(r);
    const int rows = PQntuples(r);
    std::array<Oid, 16> types{};  // the columns' types, looked up once (all but the widest results)
    out.columns.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
        out.columns.emplace_back(PQfname(r, c));
        if (c < static_cast<int>(types.size())) types[static_cast<std::size_t>(c)] = PQftype(r, c);
    }
    const auto type_of = [&](int c) {
        return c < static_cast<int>(types.size()) ? types[static_cast<std::size_t>(c)] : PQftype(r, c);
    };
    out.reserve(static_cast<std::size_t>(rows), static_cast<std::size_t>(columns));
    for (int i = 0; i < rows; ++i) {
        for (int c = 0; c < columns; ++c) append_value(out, r, i, c, type_of(c));
        out.end_row();
    }
    out.finish();
    const char* affected = PQcmdTuples(const_cast<PGresult*>(r));
    if (affected && *affected) out.affected = std::strtoll(affected, nullptr, 10);
    return out;
}

// The server's notices ("relation already exists, skipping") go to the log, not to stderr.
void log_notice(void*, const char* message) {
    std::string_view text(message);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    core::log::debug("database notice", {{"message", text}});
}

// Parameters as text; the server infers each one's type from the statement. String
// parameters are pointed at where they are (libpq copies them while sending); numbers
// and booleans are written into buffers kept here, inline for up to kInline parameters,
// so that sending a statement allocates nothing for its parameters.
class TextParams {
public:
    explicit TextParams(const Params& params) {
        const std::size_t n = params.size();
        if (n > kInline) {
            heap_values_.resize(n);
            heap_numbers_.resize(n);
        }
        const char** values = n > kInline ? heap_values_.data() : inline_values_.data();
        Number* numbers = n > kInline ? heap_numbers_.data() : inline_numbers_.data();
        for (std::size_t i = 0; i < n; ++i) {
            std::visit(
                [&](const auto& x) {
                    using T = std::decay_t<decltype(x)>;
                    if constexpr (std::is_same_v<T, std::nullptr_t>) {
                        values[i] = nullptr;
                    } else if constexpr (std::is_same_v<T, std::string>) {
                        values[i] = x.c_str();
                    } else if constexpr (std::is_same_v<T, bool>) {
                        values[i] = x ? "true" : "false";
                    } else {
                        auto [end, ec] = std::to_chars(numbers[i].data(), numbers[i].data() + numbers[i].size() - 1, x);
                        *end = '\0';
                        values[i] = numbers[i].data();
                    }
                },
                params[i]);
        }
        values_ = values;
        count_ = static_cast<int>(n);
    }
    TextParams(const TextParams&) = delete;
    TextParams& operator=(const TextParams&) = delete;

    int count() const { return count_; }
    const char* const* values() const { return values_; }

private:
    static constexpr std::size_t kInline = 8;
    using Number = std::array<char, 32>;  // an int64 or a double, shortest form
    std::array<const char*, kInline> inline_values_{};
    std::array<Number, kInline> inline_numbers_{};
    std::vector<const char*> heap_values_;
    std::vector<Number> heap_numbers_;
    const char** values_ = nullptr;
    int count_ = 0;
};

// SQL -> prepared statement name, found by the caller's view of the SQL (no copy).
struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
};
using PreparedNames = std::unordered_map<std::string, std::string, SqlHash, std::equal_to<>>;

// A statement the server only reads for, which may share a Sync (and so an implicit
// transaction) with other requests' reads. Every statement of this service that
// begins with SELECT reads only; one that wrote (through a function) could lose its
// write when a later statement of its group failed, and must not begin with SELECT.
bool is_read(std::string_view sql) {
    return sql.size() > 7 && sql.starts_with("SELECT") && (sql[6] == ' ' || sql[6] == '\n');
}

// One statement (or a script, or a barrier) waiting for its answer.
struct Op {
    enum class Kind { statement, script, barrier } kind = Kind::statement;
    int commands = 0;         // statement: commands sent before its Sync
    bool in_command = false;  // between a command's first result and its end (NULL)
    bool grouped = false;     // a read sharing the Sync of its loop turn: done at its command's end
    bool aborted = false;     // grouped, and not run because an earlier statement of its group failed
    std::string prepared;     // SQL first prepared by this op: forgotten if the op fails
    std::optional<Result> result;
    std::optional<DatabaseError> error;
    bool done = false;
    std::coroutine_handle<> waiter;
    // When the pool's watchdog first saw it waiting (within kWatchInterval of joining the
    // pipeline): stamped there, not here, to keep a clock read off every statement.
    std::chrono::steady_clock::time_point queued{};
    // When its caller stops waiting (query_within): it is then answered with a timeout
    // and stays in the pipeline, unwaited for, until its results have been read.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

class Conn;

class Pool {
public:
    Pool(asio::io_context& ioc, std::string conninfo, PoolOptions options);
    ~Pool();

    asio::io_context& ioc() { return ioc_; }
    // False once the pool is destroyed: what resumes after that (a transaction's
    // rollback, a waiter) must not touch it.
    std::shared_ptr<const bool> alive() const { return alive_; }
    const std::string& conninfo() const { return conninfo_; }
    const PoolOptions& options() const { return options_; }

    // A connection to queue a single statement on, or one for a transaction alone.
    // `deadline`: the caller's own, if sooner than the pool's timeout.
    core::Task<std::shared_ptr<Conn>> acquire(bool exclusive, Clock::time_point deadline = Clock::time_point::max());
    // A connection to queue a single statement on if one is usable now, without waiting.
    std::shared_ptr<Conn> try_acquire() const { return pick(); }
    void release_exclusive(Conn& conn);
    // Something changed (a connection came up or freed): waiters look again.
    void notify();
    // Checks the connections' deadlines every kWatchInterval while any statement or
    // connection attempt waits (one timer for the pool, not one per statement).
    void watch();

private:
    std::shared_ptr<Conn> pick() const;
    bool any_connecting() const;

    asio::io_context& ioc_;
    std::string conninfo_;
    PoolOptions options_;
    std::vector<std::shared_ptr<Conn>> conns_;
    std::list<asio::steady_timer*> waiters_;
    asio::steady_timer watchdog_{ioc_};
    bool watching_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Gives a connection taken for a transaction or script back, if the pool still exists.
struct ExclusiveRelease {
    std::shared_ptr<const bool> alive;
    Pool& pool;
    Conn& conn;
    ~ExclusiveRelease() {
        if (*alive) pool.release_exclusive(conn);
    }
};

class Conn : public std::enable_shared_from_this<Conn> {
public:
    enum class State { connecting, ready, down };

    explicit Conn(Pool& pool) : pool_(pool), socket_(pool.ioc()), backoff_timer_(pool.ioc()) {}
    ~Conn() { drop(); }

    State state() const { return state_; }
    bool exclusive = false;
    std::uint64_t generation() const { return generation_; }
    std::size_t depth() const { return pending_.size(); }

    void start() { connect(); }

    void close() {
        closing_ = true;
        state_ = State::down;
        ++generation_;
        backoff_timer_.cancel();
        fail_all(unavailable("connection closed"));
        drop();
    }

    // `sql` is read only before the first suspension: it need not outlive the wait.
    //
    // A read of a statement already prepared here, on a connection shared by requests,
    // goes without a Sync of its own: the reads of one loop turn share the Sync sent
    // when the turn ends (end_turn). libpq 15 sends at every PQpipelineSync, and the
    // server answers (and flushes) each Sync separately, so one per read cost both sides
    // a send() and a transaction per statement. The reads of a group run in one
    // implicit transaction, each with its own snapshot (READ COMMITTED); if one of them
    // fails, the server skips the rest of its group, which are then sent again, each
    // with its own Sync. Anything else (writes, a statement's first use, a
    // transaction's statements) closes the open group first and has a Sync of its own.
    //
    // `deadline`: when the caller stops waiting (see Op::deadline).
    core::Task<Result> execute(std::string_view sql, Params params,
                               Clock::time_point deadline = Clock::time_point::max()) {
        if (state_ != State::ready) throw unavailable("not connected");
        const TextParams text(params);
        auto it = prepared_.find(sql);
        if (it != prepared_.end() && !exclusive && is_read(sql)) {
            const std::string name = it->second;  // short: no allocation; outlives `sql`
            const std::uint64_t generation = generation_;
            auto op = std::make_shared<Op>();
            op->grouped = true;
            op->commands = 1;
            op->deadline = deadline;
            if (!PQsendQueryPrepared(conn_, name.c_str(), text.count(), text.values(), nullptr, nullptr, 0))
                throw send_failed();
            group_open_ = true;
            schedule_turn_end();
            Result result = co_await submit(op, false);
            if (!op->aborted) co_return result;
            // Skipped for another statement's failure: once more, on its own.
            if (state_ != State::ready || generation_ != generation || exclusive)
                throw unavailable("connection changed while a statement was retried");
            auto again = std::make_shared<Op>();
            again->deadline = deadline;
            begin_alone();
            send_alone(name, text, *again);
            co_return co_await submit(again);
        }
        auto op = std::make_shared<Op>();
        op->deadline = deadline;
        begin_alone();
        if (it == prepared_.end()) {
            const std::string statement(sql);  // NUL-terminated for libpq
            std::string name = "s" + std::to_string(++statement_counter_);
            if (!PQsendPrepare(conn_, name.c_str(), statement.c_str(), 0, nullptr)) throw send_failed();
            it = prepared_.emplace(statement, std::move(name)).first;
            op->prepared = statement;
            ++op->commands;
        }
        send_alone(it->second, text, *op);
        co_return co_await submit(op);
    }

    // Several statements in the simple protocol (not allowed in pipeline mode): waits
    // for everything queued before, leaves pipeline mode for the script, re-enters it.
    core::Task<void> execute_script(std::string sql) {
        if (state_ != State::ready) throw unavailable("not connected");
        auto barrier = std::make_shared<Op>();
        barrier->kind = Op::Kind::barrier;
        if (!PQpipelineSync(conn_)) throw send_failed();  // also ends an open group
        group_open_ = false;
        co_await submit(barrier);

        if (state_ != State::ready || !PQexitPipelineMode(conn_)) throw unavailable("cannot leave pipeline mode");
        auto op = std::make_shared<Op>();
        op->kind = Op::Kind::script;
        const bool sent = PQsendQuery(conn_, sql.c_str());
        std::optional<DatabaseError> failure;
        try {
            if (!sent) throw send_failed();
            co_await submit(op);
        } catch (const DatabaseError& e) {
            failure = e;
        }
        if (state_ == State::ready && !PQenterPipelineMode(conn_)) broken("cannot re-enter pipeline mode");
        if (failure) throw *failure;
    }

    // Queues a statement nobody waits for (the rollback of an abandoned transaction).
    void execute_detached(const std::string& sql) {
        close_group();  // the rollback must not join other requests' reads
        if (state_ != State::ready) return;
        auto op = std::make_shared<Op>();
        op->commands = 1;
        if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) ||
            !PQpipelineSync(conn_)) {
            broken("send failed");
            return;
        }
        pending_.push_back(op);
        pool_.watch();
        pump();
    }

    // Acts on what has run out of time by `now`; true while something still waits (the
    // pool keeps watching). A connection whose oldest statement has had no answer for
    // the response timeout (or whose connection attempt has lasted as long) is given up:
    // a server that hangs, rather than fails, is noticed, and a new connection (a new
    // server process) replaces it.
    bool check_deadlines(Clock::time_point now) {
        const auto limit = pool_.options().response_timeout;
        if (state_ == State::connecting) {
            if (limit.count() > 0 && now - connect_started_ >= limit) {
                connect_failed("no answer within " + std::to_string(limit.count()) + " ms while connecting");
                return false;
            }
            return true;
        }
        if (state_ != State::ready || pending_.empty()) return false;
        if (limit.count() > 0 && pending_.front()->queued != Clock::time_point{} &&
            now - pending_.front()->queued >= limit) {
            broken("no answer within " + std::to_string(limit.count()) + " ms", DatabaseError::Kind::timeout);
            return false;
        }
        for (const auto& op : pending_) {
            if (op->queued == Clock::time_point{}) op->queued = now;
            if (op->done || op->deadline > now) continue;
            op->error = DatabaseError(DatabaseError::Kind::timeout, "the database did not answer in time");
            complete(op);
        }
        return true;
    }

private:
    DatabaseError send_failed() {
        const std::string why = PQerrorMessage(conn_);
        broken(why);
        return unavailable(why);
    }

    // Before a statement with a Sync of its own: the open group of reads gets its Sync
    // first, and the socket is corked for the rest of the turn.
    void begin_alone() {
        close_group();
        if (state_ != State::ready) throw unavailable("not connected");
        cork();
    }

    // The statement prepared as `name`, and its own Sync.
    void send_alone(const std::string& name, const TextParams& text, Op& op) {
        if (!PQsendQueryPrepared(conn_, name.c_str(), text.count(), text.values(), nullptr, nullptr, 0) ||
            !PQpipelineSync(conn_))
            throw send_failed();
        ++op.commands;
    }

    // `send_now`: false for a grouped read, which leaves with its group's Sync (end_turn).
    core::Task<Result> submit(std::shared_ptr<Op> op, bool send_now = true) {
        pending_.push_back(op);
        pool_.watch();
        if (send_now) pump();
        struct Wait {
            Op& op;
            bool await_ready() const noexcept { return op.done; }
            void await_suspend(std::coroutine_handle<> h) noexcept { op.waiter = h; }
            void await_resume() const noexcept {}
        };
        co_await Wait{*op};
        if (op->error) throw *op->error;
        co_return op->result ? std::move(*op->result) : Result{};
    }

    // Resumes the op's waiter, once: an op answered at its deadline completes again when
    // its results are read at last.
    void complete(const std::shared_ptr<Op>& op) {
        op->done = true;
        if (auto waiter = std::exchange(op->waiter, nullptr))  // on a fresh turn, not inside this connection's I/O
            asio::post(pool_.ioc(), [op, waiter] { waiter.resume(); });
    }

    void fail_all(const DatabaseError& error) {
        auto ops = std::move(pending_);
        pending_.clear();
        for (auto& op : ops) {
            op->error = error;
            complete(op);
        }
    }

    // --- connecting ---------------------------------------------------------

    void connect() {
        drop();
        state_ = State::connecting;
        connect_started_ = Clock::now();
        pool_.watch();
        const std::string options = "-c statement_timeout=" + std::to_string(pool_.options().statement_timeout.count());
        const char* keys[] = {"dbname", "application_name", "options", nullptr};
        const char* values[] = {pool_.conninfo().c_str(), "items-api", options.c_str(), nullptr};
        conn_ = PQconnectStartParams(keys, values, 1);
        if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) return connect_failed();
        PQsetNoticeProcessor(conn_, log_notice, nullptr);
        PQsetnonblocking(conn_, 1);
        poll_connect(PGRES_POLLING_WRITING);
    }

    void poll_connect(PostgresPollingStatusType status) {
        if (closing_) return;
        if (status == PGRES_POLLING_OK) return connected();
        if (status == PGRES_POLLING_FAILED) return connect_failed();
        if (!attach_socket()) return connect_failed();
        const auto kind = status == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                          : asio::posix::stream_descriptor::wait_write;
        socket_.async_wait(kind, [self = shared_from_this()](boost::system::error_code ec) {
            if (self->closing_ || !self->conn_) return;
            if (ec) return self->connect_failed();
            self->poll_connect(PQconnectPoll(self->conn_));
        });
    }

    void connected() {
        if (!PQenterPipelineMode(conn_) || !attach_socket()) return connect_failed();
        state_ = State::ready;
        backoff_ = kMinBackoff;
        ++generation_;
        if (reported_down_) core::log::info("database connection restored");
        reported_down_ = false;
        pool_.notify();
    }

    void connect_failed() { connect_failed(conn_ ? PQerrorMessage(conn_) : "out of memory"); }

    void connect_failed(const std::string& why) {
        if (!reported_down_) {
            core::log::warn("database connection failed", {{"error", why}});
            reported_down_ = true;
        }
        drop();
        state_ = State::down;
        pool_.notify();  // waiters learn there is nothing to wait for
        retry_later();
    }

    void retry_later() {
        if (closing_) return;
        backoff_timer_.expires_after(backoff_);
        backoff_ = std::min(backoff_ * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
        backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec && !self->closing_) self->connect();
        });
    }

    // Asio watches libpq's socket; libpq may change it while connecting.
    bool attach_socket() {
        const int fd = PQsocket(conn_);
        if (fd < 0) return false;
        if (socket_.is_open() && socket_.native_handle() == fd) return true;
        detach_socket();
        boost::system::error_code ec;
        socket_.assign(fd, ec);
        return !ec;
    }

    void detach_socket() {
        if (!socket_.is_open()) return;
        boost::system::error_code ignored;  // nothing to do if there was nothing to cancel
        socket_.cancel(ignored);
        socket_.release();  // libpq owns the file descriptor; PQfinish closes it
        reading_ = writing_ = false;
    }

    void drop() {
        group_open_ = false;
        detach_socket();
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        prepared_.clear();
    }

    void broken(std::string_view why, DatabaseError::Kind kind = DatabaseError::Kind::unavailable) {
        if (state_ != State::ready) return;
        core::log::warn("database connection lost", {{"error", why}});
        reported_down_ = true;
        state_ = State::down;
        exclusive = false;
        ++generation_;
        fail_all(DatabaseError(kind, "database unavailable: " + std::string(why)));
        drop();
        pool_.notify();
        retry_later();
    }

    // --- pipelined I/O --------------------------------------------------------

    // Each statement ends with a Sync, and libpq 15's PQpipelineSync sends at once, so
    // the statements queued in one turn of the loop would leave in as many TCP segments,
    // each waking the server's backend. Corking the socket until the turn ends (a posted
    // handler runs after the handlers already ready) sends them together: item_get
    // 34-35k -> 39-40k requests/s, p99 1.7 -> 1.5 ms (bench/README.md, step 4).
    void cork() {
        if (corked_) return;
        int on = 1;
        ::setsockopt(PQsocket(conn_), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        corked_ = true;
        schedule_turn_end();
    }

    void schedule_turn_end() {
        if (turn_end_scheduled_) return;
        turn_end_scheduled_ = true;
        asio::post(pool_.ioc(), [self = shared_from_this()] { self->end_turn(); });
    }

    // The turn's group of reads gets its Sync, and what the turn queued leaves.
    void end_turn() {
        turn_end_scheduled_ = false;
        if (!conn_ || state_ != State::ready) return;
        close_group();
        if (corked_) {
            corked_ = false;
            int off = 0;
            ::setsockopt(PQsocket(conn_), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        }
        pump();
    }

    // Ends the open group of reads with a Sync, whose result a barrier takes.
    void close_group() {
        if (!group_open_ || state_ != State::ready) return;
        group_open_ = false;
        if (!PQpipelineSync(conn_)) return broken(PQerrorMessage(conn_));
        auto barrier = std::make_shared<Op>();
        barrier->kind = Op::Kind::barrier;
        pending_.push_back(std::move(barrier));
    }

    // Sends what libpq holds, reads what has arrived, and waits for the socket as needed.
    void pump() {
        if (state_ != State::ready || closing_) return;
        const int flushed = PQflush(conn_);
        if (flushed < 0) return broken(PQerrorMessage(conn_));
        if (!process()) return;
        if (flushed == 1 && !writing_) {
            writing_ = true;
            socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                               [self = shared_from_this()](boost::system::error_code ec) {
                                   self->writing_ = false;
                                   self->on_ready(ec);
                               });
        }
        // Read even when idle, so that a connection the server closes is noticed (and
        // replaced) at once, not at the next statement.
        if (!reading_) {
            reading_ = true;
            socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                               [self = shared_from_this()](boost::system::error_code ec) {
                                   self->reading_ = false;
                                   self->on_ready(ec);
                               });
        }
    }

    void on_ready(boost::system::error_code ec) {
        if (closing_ || state_ != State::ready) return;
        if (ec) {
            if (ec != asio::error::operation_aborted) broken(ec.message());
            return;
        }
        // Reading while writing too keeps both sides from waiting on full buffers.
        if (!consume()) return;
        // Asio's epoll wakes us on an edge: if libpq's read left bytes in the socket (it
        // reads at most its free buffer space), no new edge comes for them. So while an
        // answer is incomplete and the socket still holds bytes, read on.
        for (;;) {
            if (!process()) return;
            if (pending_.empty() || !PQisBusy(conn_)) break;
            asio::posix::descriptor_base::bytes_readable unread;
            boost::system::error_code ec;
            socket_.io_control(unread, ec);
            if (ec || unread.get() == 0) break;
            if (!consume()) return;
        }
        pump();
    }

    bool consume() {
        if (PQconsumeInput(conn_) && PQstatus(conn_) != CONNECTION_BAD) return true;
        broken(PQerrorMessage(conn_));
        return false;
    }

    // Hands every complete result libpq holds to its op; false if the connection broke.
    // It never reads the socket itself (on_ready does, when the socket is readable):
    // reading here, after every statement sent, cost several empty recv() calls per
    // request.
    bool process() {
        // A NULL outside a command is taken for "nothing more yet" only when it repeats, so
        // that one stray NULL (between pipeline segments) cannot leave results libpq
        // already holds unread until the socket wakes us again.
        int nulls = 0;
        while (!pending_.empty()) {
            if (PQisBusy(conn_)) return true;
            auto& op = pending_.front();
            PGresult* r = PQgetResult(conn_);
            if (!r) {
                if (op->kind == Op::Kind::script) {
                    finish_front();
                } else if (op->in_command) {
                    op->in_command = false;
                    if (--op->commands == 0 && op->grouped) finish_front();
                } else if (++nulls >= 2) {
                    return true;  // nothing more has arrived yet
                }
                continue;
            }
            nulls = 0;
            const ExecStatusType status = PQresultStatus(r);
            if (status == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                finish_front();
                continue;
            }
            op->in_command = true;
            if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
                op->result = result_of(r);
            } else if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR) {
                if (!op->error) op->error = error_of(r);
                if (!op->prepared.empty()) prepared_.erase(op->prepared);
            } else if (status == PGRES_PIPELINE_ABORTED && !op->error) {
                // An earlier statement of the group failed: a grouped read is sent again;
                // anything else has a Sync of its own, so this cannot be, but must not
                // pass for success if it were.
                if (op->grouped)
                    op->aborted = true;
                else
                    op->error = DatabaseError(DatabaseError::Kind::other, "statement skipped after another failed");
            }  // otherwise PGRES_PIPELINE_ABORTED follows the op's own failed command; its error is kept
            PQclear(r);
            if (PQstatus(conn_) == CONNECTION_BAD) {
                broken(PQerrorMessage(conn_));
                return false;
            }
        }
        return true;
    }

    void finish_front() {
        auto op = std::move(pending_.front());
        pending_.pop_front();
        complete(op);
        if (pending_.size() + 1 == kMaxPipelineDepth) pool_.notify();
    }

    Pool& pool_;
    PGconn* conn_ = nullptr;
    asio::posix::stream_descriptor socket_;
    asio::steady_timer backoff_timer_;
    std::chrono::milliseconds backoff_ = kMinBackoff;
    State state_ = State::down;
    std::uint64_t generation_ = 0;
    bool closing_ = false;
    bool reading_ = false;
    bool writing_ = false;
    bool corked_ = false;
    bool turn_end_scheduled_ = false;
    bool group_open_ = false;  // reads sent since the last Sync
    bool reported_down_ = false;
    Clock::time_point connect_started_;
    std::deque<std::shared_ptr<Op>> pending_;
    PreparedNames prepared_;  // SQL -> statement name
    std::uint64_t statement_counter_ = 0;
};

Pool::Pool(asio::io_context& ioc, std::string conninfo, PoolOptions options)
    : ioc_(ioc), conninfo_(std::move(conninfo)), options_(options) {
    for (unsigned i = 0; i < std::max(1u, options_.size); ++i) conns_.push_back(std::make_shared<Conn>(*this));
    for (auto& c : conns_) c->start();
}

Pool::~Pool() {
    *alive_ = false;
    for (auto& c : conns_) c->close();
    notify();
}

// Statements gather on the first usable connection until its pipeline is kSpillDepth
// deep, then spill to the least busy one. Measured on 2 cores: spreading every
// statement over all connections keeps more PostgreSQL backends runnable at once, and
// their scheduling shows as tail latency (item_get p99 of 6-140 ms with 4 per thread
// spread, ~3 ms gathered, throughput alike); the other connections serve transactions
// and bursts.
std::shared_ptr<Conn> Pool::pick() const {
    std::shared_ptr<Conn> best;
    for (const auto& c : conns_) {
        if (c->state() != Conn::State::ready || c->exclusive || c->depth() >= kMaxPipelineDepth) continue;
        if (c->depth() < kSpillDepth) return c;
        if (!best || c->depth() < best->depth()) best = c;
    }
    return best;
}

bool Pool::any_connecting() const {
    for (const auto& c : conns_)
        if (c->state() == Conn::State::connecting) return true;
    return false;
}

core::Task<std::shared_ptr<Conn>> Pool::acquire(bool exclusive, Clock::time_point caller_deadline) {
    const auto deadline = std::min(Clock::now() + options_.acquire_timeout, caller_deadline);
    for (;;) {
        if (auto c = pick()) {
            // A transaction's BEGIN queues behind what is already there, outside it;
            // marking the connection keeps anything else from queueing after it.
            if (exclusive) c->exclusive = true;
            co_return c;
        }
        // Every connection down and none trying right now: answer at once, do not wait.
        const bool any_up = std::any_of(conns_.begin(), conns_.end(),
                                        [](const auto& c) { return c->state() == Conn::State::ready; });
        if (!any_up && !any_connecting()) throw unavailable("no connection to the database");
        if (std::chrono::steady_clock::now() >= deadline)
            throw DatabaseError(DatabaseError::Kind::timeout, "timed out waiting for a database connection");

        asio::steady_timer timer(ioc_, deadline);
        waiters_.push_back(&timer);
        auto it = std::prev(waiters_.end());
        const auto alive = alive_;
        co_await core::async_wait_op([&](auto cb) { timer.async_wait(std::move(cb)); });
        if (!*alive) throw unavailable("the database pool was closed");
        waiters_.erase(it);
    }
}

void Pool::release_exclusive(Conn& conn) {
    conn.exclusive = false;
    notify();
}

void Pool::notify() {
    for (auto* t : waiters_) t->cancel();
}

void Pool::watch() {
    if (watching_) return;
    watching_ = true;
    watchdog_.expires_after(kWatchInterval);
    watchdog_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (ec || !*alive) return;  // the pool is gone
        watching_ = false;
        const auto now = Clock::now();
        bool waiting = false;
        // A copy: giving a connection up may notify, never add or remove connections,
        // but the check must not depend on that.
        for (const auto& c : std::vector<std::shared_ptr<Conn>>(conns_)) waiting = c->check_deadlines(now) || waiting;
        if (waiting) watch();
    });
}

class PgTransaction final : public Transaction {
public:
    PgTransaction(Pool& pool, std::shared_ptr<Conn> conn)
        : pool_(pool), pool_alive_(pool.alive()), conn_(std::move(conn)), generation_(conn_->generation()) {}
    ~PgTransaction() override {
        if (!open_ || !*pool_alive_) return;
        if (alive()) conn_->execute_detached("ROLLBACK");  // queued before anything else can use it
        pool_.release_exclusive(*conn_);
    }

    core::Task<Result> query(std::string_view sql, Params params) override {
        check();
        co_return co_await conn_->execute(sql, std::move(params));
    }
    core::Task<void> execute_script(std::string_view sql) override {
        check();
        co_await conn_->execute_script(std::string(sql));
    }
    core::Task<void> commit() override { co_await finish("COMMIT"); }
    core::Task<void> rollback() override { co_await finish("ROLLBACK"); }

private:
    bool alive() const { return conn_->state() == Conn::State::ready && conn_->generation() == generation_; }
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
    std::shared_ptr<Conn> conn_;
    std::uint64_t generation_;
    bool open_ = true;
};

class PgDatabase final : public Database {
public:
    PgDatabase(asio::io_context& ioc, const std::string& conninfo, const PoolOptions& options)
        : pool_(ioc, conninfo, options) {}

    Dialect dialect() const override { return Dialect::postgres; }

    core::Task<Result> query(std::string_view sql, Params params) override {
        // Usually a connection is there at once, and the view is used before any wait;
        // when the pool must be waited for, the SQL is copied first (the caller's view
        // may not outlive a wait).
        if (auto conn = pool_.try_acquire()) co_return co_await conn->execute(sql, std::move(params));
        std::string text(sql);
        auto conn = co_await pool_.acquire(false);
        co_return co_await conn->execute(text, std::move(params));
    }

    core::Task<Result> query_within(std::chrono::milliseconds timeout, std::string_view sql,
                                    Params params) override {
        const auto deadline = Clock::now() + timeout;
        // As query(): the view is used before any wait when a connection is there at once.
        if (auto conn = pool_.try_acquire()) co_return co_await conn->execute(sql, std::move(params), deadline);
        std::string text(sql);
        auto conn = co_await pool_.acquire(false, deadline);
        co_return co_await conn->execute(text, std::move(params), deadline);
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
    Pool pool_;
};

class PgConnector final : public Connector {
public:
    PgConnector(std::string conninfo, PoolOptions options) : conninfo_(std::move(conninfo)), options_(options) {
        // A malformed URL is a bad setting, said once at start-up; an unreachable server
        // is not (it may come up later: /health says 503 until then).
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(conninfo_.c_str(), &error);
        if (!parsed) {
            std::string why = error ? error : "cannot be parsed";
            PQfreemem(error);
            while (!why.empty() && why.back() == '\n') why.pop_back();
            throw config::SettingsError("DATABASE_URL", why);
        }
        PQconninfoFree(parsed);
    }
    Dialect dialect() const override { return Dialect::postgres; }
    std::unique_ptr<Database> open(asio::io_context& ioc) override {
        return std::make_unique<PgDatabase>(ioc, conninfo_, options_);
    }

private:
    std::string conninfo_;
    PoolOptions options_;
};

}  // namespace

std::unique_ptr<Connector> make_connector(const config::PostgresUrl& url, const PoolOptions& options) {
    return std::make_unique<PgConnector>(url.conninfo, options);
}

}  // namespace db::postgres
