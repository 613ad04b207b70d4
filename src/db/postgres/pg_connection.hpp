#pragma once
// One PostgreSQL connection and its pipeline (see pg_database.cpp for the whole design).
//
// The connection is non-blocking and in pipeline mode: each statement is sent as
// [Parse] Bind/Execute Sync (Parse only the first time: named prepared statements,
// once per connection) and answered in order, so statements of many requests can be
// in flight on one connection at once. Reads of an already prepared statement share
// one Sync per turn of the loop (see Connection::execute). Socket readiness comes from
// Asio; the connection's I/O is a chain of callbacks holding the connection alive
// (shared_from_this), so nothing is left suspended when the loop goes away. A
// connection that breaks fails its statements with DatabaseError::unavailable and
// reconnects with backoff.

#include <libpq-fe.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/task.hpp"
#include "db/database.hpp"
#include "db/postgres/conversion.hpp"
#include "db/postgres/hedged_read.hpp"
#include "db/postgres/tuning.hpp"

namespace db::postgres {

namespace asio = boost::asio;

// SQL -> prepared statement name, found by the caller's view of the SQL (no copy).
struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
};
struct Prepared {
    std::string name;
    std::uint32_t statement = 0;  // 1 + its index in Connection::statements_
};
using PreparedNames = std::unordered_map<std::string, Prepared, SqlHash, std::equal_to<>>;

// One statement (or a script, or a barrier) in a connection's pipeline.
struct Op {
    enum class Kind { statement, script, barrier } kind = Kind::statement;
    int commands = 0;         // statement: commands sent before its Sync
    bool in_command = false;  // between a command's first result and its end (NULL)
    bool grouped = false;     // a read sharing the Sync of its loop turn: done at its command's end
    std::string prepared;     // SQL first prepared by this op: forgotten if the op fails
    std::uint32_t statement = 0;  // a prepared statement's, see Prepared (0: none)
    Clock::time_point sent{};     // when it joined the pipeline (what it usually takes is measured from it)
    // When the pool's watch first saw it waiting (within Tuning::watch_interval of joining
    // the pipeline), for the response timeout: unlike `sent`, stamped on barriers too.
    Clock::time_point queued{};
    // When its caller stops waiting (query_within): it is then answered with a timeout
    // and stays in the pipeline, unwaited for, until its results have been read.
    Clock::time_point deadline = Clock::time_point::max();
    Outcome read;   // what the pipeline has read for it so far
    Answer answer;  // what its waiter gets: the first delivered (hedged_read.hpp)

    // For a hedge (hedged_read.hpp): a read that may run elsewhere too, its parameters, the
    // hedges in its chain so far, whether one is on its way, and whether another thread's
    // pool was tried.
    bool hedgeable = false;
    Params params;
    unsigned hedges = 0;
    bool hedge_out = false;
    bool tried_other_thread = false;
};

class Pool;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    enum class State { connecting, ready, down };

    explicit Connection(Pool& pool);
    ~Connection() { drop(); }

    State state() const { return state_; }
    bool exclusive = false;
    std::uint64_t generation() const { return generation_; }
    // Statements queued on it: in its pipeline, or waiting to be sent (wait_to_send).
    std::size_t depth() const { return pending_.size() + send_waiters_.size(); }

    // For metrics on other threads: whether the connection is up, and in use (statements
    // on it, or a transaction's). Kept by publish() wherever either changes; read anywhere.
    struct Seen {
        bool up = false;
        bool in_use = false;
    };
    Seen seen() const {
        const auto bits = seen_.load(std::memory_order_relaxed);
        return {(bits & 1) != 0, (bits & 2) != 0};
    }
    void publish() {
        seen_.store(static_cast<unsigned char>((state_ == State::ready ? 1 : 0) | (exclusive || !pending_.empty() ? 2 : 0)),
                    std::memory_order_relaxed);
    }

    void start() { connect(); }

    void close();

    // The statement's SQL is read only before the first suspension: it need not outlive
    // the wait. Reads are the statements the caller declared so (db::reads).
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
    // A read of a prepared statement, outside a transaction, may be hedged while it waits
    // (hedged_read.hpp). `deadline`: when the caller stops waiting (see Op::deadline).
    // `hedges`: for a hedge itself, the hedges in its chain so far.
    core::Task<Result> execute(Statement statement, Params params,
                               Clock::time_point deadline = Clock::time_point::max(), unsigned hedges = 0);

    // Several statements in the simple protocol (not allowed in pipeline mode): waits
    // for everything queued before, leaves pipeline mode for the script, re-enters it.
    core::Task<void> execute_script(std::string sql);

    // Queues a statement nobody waits for (the rollback of an abandoned transaction).
    void execute_detached(const std::string& sql);

    // Acts on what has run out of time by `now`, and sees whether the connection is
    // stalled (stall_policy::stalled); true while something still waits (the pool keeps
    // watching). A connection whose oldest statement has had no answer for the response
    // timeout (or whose connection attempt has lasted as long) is given up: a server that
    // hangs, rather than fails, is noticed, and a new connection (a new server process)
    // replaces it.
    bool check_deadlines(Clock::time_point now);

    // Stalled, as check_deadlines last saw (progress clears it): new statements go
    // elsewhere while there is elsewhere (Pool::pick), and its cheap reads are hedged.
    bool stalled() const { return stalled_; }
    // When a statement was last answered here (its backend then ran).
    Clock::time_point last_answer() const { return last_finish_; }
    // Its pipeline, front first.
    const std::deque<std::shared_ptr<Op>>& pending() const { return pending_; }
    // What a statement usually takes here, if it was ever answered here.
    std::optional<Clock::duration> usual_of(std::string_view sql) const;
    // The SQL of an op's prepared statement (empty if it has none).
    const std::string& sql_of(const Op& op) const;

private:
    DatabaseError send_failed();

    // DB_PREPARED_STATEMENTS=false leaves no session setting to limit a statement's time:
    // the statement at the pipeline's front (the one the server runs) is cancelled once
    // the pool's watch has seen it there for DB_STATEMENT_TIMEOUT (so up to
    // Tuning::watch_interval late). PostgreSQL answers it with 57014, as its own timeout
    // would. Under PgBouncer a cancel that arrives just after the statement ended finds the
    // client's next statement, or none: never another client's.
    void enforce_statement_timeout(Clock::time_point now);

    // Before a statement with a Sync of its own: the open group of reads gets its Sync
    // first, and the socket is corked for the rest of the turn.
    void begin_alone();

    // DB_PREPARED_STATEMENTS=false is for PgBouncer's transaction pooling, and PgBouncer
    // (1.18) hands the server connection to another client at the first ReadyForQuery
    // outside a transaction, even if more of this client's statements are on their way
    // to it: their answers then reach the other client. With two Syncs in flight through
    // it, statements got other statements' answers ("unexpected type"). So in that mode a
    // connection has one Sync in flight (but an abandoned transaction's ROLLBACK,
    // execute_detached: inside a transaction PgBouncer keeps the server): a statement waits
    // here until the last one is answered. Reads of one loop turn still share a Sync
    // (`joins_group`: pipelined in one segment); anything else first sends the open group
    // on its own and waits for it. Throws if the connection is lost meanwhile.
    core::Task<void> wait_to_send(bool joins_group);
    void wake_senders();

    // PQpipelineSync, counted in syncs_in_flight_.
    bool sync();

    // The statement prepared as `name`, or (no name) `unnamed_sql` as the unnamed statement.
    bool send(const std::string& name, const std::string& unnamed_sql, const TextParams& text);

    // The same, and its own Sync.
    void send_alone(const std::string& name, const std::string& unnamed_sql, const TextParams& text, Op& op);

    // Queues the op and waits for its answer (then in op->answer.outcome()). `send_now`:
    // false for a grouped read, which leaves with its group's Sync (end_turn).
    core::Task<void> submit(const std::shared_ptr<Op>& op, bool send_now = true);

    // The statement's place in statements_ (1 + its index), added if new.
    std::uint32_t cost_slot(const std::string& sql);

    struct StatementCost;
    // What the op's statement usually takes here, or null (not a prepared statement).
    StatementCost* cost_of(const Op& op);

    // Delivers what the pipeline read for the op to its waiter (if nothing came first).
    void answer(const std::shared_ptr<Op>& op, Outcome&& outcome);

    void fail_all(const DatabaseError& error);

    // --- connecting ---------------------------------------------------------

    void connect();

    void poll_connect(PostgresPollingStatusType status);

    void connected();

    void connect_failed() { connect_failed(conn_ ? PQerrorMessage(conn_) : "out of memory"); }

    void connect_failed(const std::string& why);

    void retry_later();

    // Asio watches libpq's socket; libpq may change it while connecting.
    bool attach_socket();

    void detach_socket();

    void drop();

    void broken(std::string_view why, DatabaseError::Kind kind = DatabaseError::Kind::unavailable);

    // --- pipelined I/O --------------------------------------------------------

    // Each statement ends with a Sync, and libpq 15's PQpipelineSync sends at once, so
    // the statements queued in one turn of the loop would leave in as many TCP segments,
    // each waking the server's backend. Corking the socket until the turn ends (a posted
    // handler runs after the handlers already ready) sends them together.
    void cork();

    void schedule_turn_end();

    // The turn's group of reads gets its Sync, and what the turn queued leaves.
    void end_turn();

    // Ends the open group of reads with a Sync, whose result a barrier takes.
    void close_group();

    // Sends what libpq holds, reads what has arrived, and waits for the socket as needed.
    void pump();

    void on_ready(boost::system::error_code ec);

    bool consume();

    // Hands every complete result libpq holds to its op; false if the connection broke.
    // It never reads the socket itself (on_ready does, when the socket is readable):
    // reading here, after every statement sent, cost several empty recv() calls per
    // request.
    bool process();

    void finish_front();

    Pool& pool_;
    PGconn* conn_ = nullptr;
    asio::posix::stream_descriptor socket_;
    asio::steady_timer backoff_timer_;
    std::chrono::milliseconds backoff_ = Tuning::min_backoff;
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
    std::size_t syncs_in_flight_ = 0;                   // sent, their PGRES_PIPELINE_SYNC not yet read
    std::vector<std::coroutine_handle<>> send_waiters_;  // wait_to_send
    PreparedNames prepared_;  // SQL -> statement name
    // What each prepared statement usually takes here (Op::statement - 1 indexes it): from
    // the later of its sending and the previous answer, to its answer; a moving average
    // (Tuning::cost_smoothing).
    struct StatementCost {
        std::string sql;
        Clock::duration usual{};
        bool measured = false;
    };
    std::vector<StatementCost> statements_;
    Clock::time_point last_finish_{};  // when the last statement left the front
    bool stalled_ = false;
    std::uint64_t statement_counter_ = 0;
    std::uint64_t finished_ = 0;    // statements that have left the front of the pipeline
    std::uint64_t front_seen_ = ~std::uint64_t{0};  // finished_ when the front statement was first seen (enforce_statement_timeout)
    std::uint64_t cancelled_ = ~std::uint64_t{0};  // finished_ when a cancel was last sent
    Clock::time_point front_since_;
    std::atomic<unsigned char> seen_{0};
};

}  // namespace db::postgres
