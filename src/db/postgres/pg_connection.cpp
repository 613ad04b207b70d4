// A PostgreSQL connection's statements and its pipelined I/O (pg_connection.hpp);
// connecting and reconnecting are in pg_connection_setup.cpp.

#include "db/postgres/pg_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "core/log.hpp"
#include "db/postgres/pool.hpp"
#include "db/postgres/stall_policy.hpp"

namespace db::postgres {

Connection::Connection(Pool& pool) : pool_(pool), socket_(pool.ioc()), backoff_timer_(pool.ioc()) {}

void Connection::close() {
    closing_ = true;
    state_ = State::down;
    publish();
    ++generation_;
    backoff_timer_.cancel();
    fail_all(unavailable("connection closed"));
    drop();
}

core::Task<Result> Connection::execute(Statement statement, Params params, Clock::time_point deadline, unsigned hedges) {
    const std::string_view sql = statement.sql;
    if (state_ != State::ready) throw unavailable("not connected");
    // Unnamed statements (DB_PREPARED_STATEMENTS=false) are parsed with each use: their
    // SQL is copied, to be sent again after a wait, when the caller's view may be gone.
    const bool named = pool_.options().prepared_statements;
    const std::string unnamed = named ? std::string() : std::string(sql);
    const bool shared_read = !exclusive && statement.reads_only;
    if (!named) {
        co_await wait_to_send(shared_read);
        // A transaction took the connection meanwhile: the read goes alone, before its BEGIN.
        if (shared_read && exclusive) co_await wait_to_send(false);
    }
    auto op = std::make_shared<Op>();
    op->deadline = deadline;
    op->hedges = hedges;
    op->params = std::move(params);  // kept for a hedge; its strings are sent from here
    const TextParams text(op->params);
    auto it = named ? prepared_.find(sql) : prepared_.end();
    if ((!named || it != prepared_.end()) && !exclusive && statement.reads_only) {
        const std::string name = named ? it->second.name : std::string();  // short: no allocation
        const std::uint64_t generation = generation_;
        op->grouped = true;
        op->commands = 1;
        if (named) {
            op->statement = it->second.statement;
            op->hedgeable = !statement.many_rows;
        }
        if (!send(name, unnamed, text)) throw send_failed();
        group_open_ = true;
        schedule_turn_end();
        co_await submit(op, false);
        if (!op->answer.outcome().aborted) co_return op->answer.outcome().take();
        // Skipped for another statement's failure: once more, on its own.
        if (state_ != State::ready || generation_ != generation || exclusive)
            throw unavailable("connection changed while a statement was retried");
        if (!named) co_await wait_to_send(false);
        auto again = std::make_shared<Op>();
        again->deadline = deadline;
        again->statement = op->statement;
        begin_alone();
        send_alone(name, unnamed, text, *again);
        co_await submit(again);
        co_return again->answer.outcome().take();
    }
    begin_alone();
    if (!named) {
        send_alone({}, unnamed, text, *op);
        co_await submit(op);
        co_return op->answer.outcome().take();
    }
    if (it == prepared_.end()) {
        const std::string statement(sql);  // NUL-terminated for libpq
        std::string name = "s" + std::to_string(++statement_counter_);
        if (!PQsendPrepare(conn_, name.c_str(), statement.c_str(), 0, nullptr)) throw send_failed();
        it = prepared_.emplace(statement, Prepared{std::move(name), cost_slot(statement)}).first;
        op->prepared = statement;
        ++op->commands;
    }
    op->statement = it->second.statement;
    // A read's first use here may be hedged too (judged by what it takes on the others).
    op->hedgeable = statement.reads_only && !statement.many_rows && !exclusive;
    send_alone(it->second.name, {}, text, *op);
    co_await submit(op);
    co_return op->answer.outcome().take();
}

std::uint32_t Connection::cost_slot(const std::string& sql) {
    // Known already if its preparing failed before (a failed Parse is forgotten, and is
    // sent again with the next use): one entry per statement, however often that happens.
    for (std::size_t i = 0; i < statements_.size(); ++i)
        if (statements_[i].sql == sql) return static_cast<std::uint32_t>(i + 1);
    statements_.push_back(StatementCost{sql});
    return static_cast<std::uint32_t>(statements_.size());
}

Connection::StatementCost* Connection::cost_of(const Op& op) {
    return op.statement != 0 && op.statement <= statements_.size() ? &statements_[op.statement - 1] : nullptr;
}

std::optional<Clock::duration> Connection::usual_of(std::string_view sql) const {
    for (const auto& cost : statements_)
        if (cost.measured && cost.sql == sql) return cost.usual;
    return std::nullopt;
}

const std::string& Connection::sql_of(const Op& op) const {
    static const std::string none;
    return op.statement != 0 && op.statement <= statements_.size() ? statements_[op.statement - 1].sql : none;
}

core::Task<void> Connection::execute_script(std::string sql) {
    if (state_ != State::ready) throw unavailable("not connected");
    if (!pool_.options().prepared_statements) co_await wait_to_send(false);
    auto barrier = std::make_shared<Op>();
    barrier->kind = Op::Kind::barrier;
    if (!sync()) throw send_failed();  // also ends an open group
    group_open_ = false;
    co_await submit(barrier);
    barrier->answer.outcome().take();

    if (state_ != State::ready || !PQexitPipelineMode(conn_)) throw unavailable("cannot leave pipeline mode");
    auto op = std::make_shared<Op>();
    op->kind = Op::Kind::script;
    const bool sent = PQsendQuery(conn_, sql.c_str());
    std::optional<DatabaseError> failure;
    try {
        if (!sent) throw send_failed();
        co_await submit(op);
        op->answer.outcome().take();
    } catch (const DatabaseError& e) {
        failure = e;
    }
    if (state_ == State::ready && !PQenterPipelineMode(conn_)) broken("cannot re-enter pipeline mode");
    if (failure) throw *failure;
}

void Connection::execute_detached(const std::string& sql) {
    close_group();  // the rollback must not join other requests' reads
    if (state_ != State::ready) return;
    auto op = std::make_shared<Op>();
    op->commands = 1;
    op->sent = Clock::now();
    if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) || !sync()) {
        broken("send failed");
        return;
    }
    pending_.push_back(op);
    publish();
    pool_.watch();
    pump();
}

bool Connection::check_deadlines(Clock::time_point now) {
    const auto limit = pool_.options().response_timeout;
    if (state_ == State::connecting) {
        if (limit.count() > 0 && now - connect_started_ >= limit) {
            connect_failed("no answer within " + std::to_string(limit.count()) + " ms while connecting");
            return false;
        }
        return true;
    }
    if (state_ != State::ready || pending_.empty()) {
        stalled_ = false;
        return false;
    }
    if (limit.count() > 0 && pending_.front()->queued != Clock::time_point{} &&
        now - pending_.front()->queued >= limit) {
        broken("no answer within " + std::to_string(limit.count()) + " ms", DatabaseError::Kind::timeout);
        return false;
    }
    enforce_statement_timeout(now);
    const Op& front = *pending_.front();
    const StatementCost* cost = cost_of(front);
    stalled_ = stall_policy::stalled(now, std::max(last_finish_, front.sent), cost ? cost->usual : Clock::duration{});
    for (const auto& op : pending_) {
        if (op->queued == Clock::time_point{}) op->queued = now;
        if (op->answer.delivered() || op->deadline > now) continue;
        answer(op, Outcome::failed(DatabaseError(DatabaseError::Kind::timeout, "the database did not answer in time")));
    }
    return true;
}

DatabaseError Connection::send_failed() {
    const std::string why = PQerrorMessage(conn_);
    broken(why);
    return unavailable(why);
}

void Connection::begin_alone() {
    close_group();
    if (state_ != State::ready) throw unavailable("not connected");
    cork();
}

core::Task<void> Connection::wait_to_send(bool joins_group) {
    const std::uint64_t generation = generation_;
    for (;;) {
        if (state_ != State::ready || generation_ != generation)
            throw unavailable("connection changed while a statement waited to be sent");
        if (syncs_in_flight_ == 0 && (joins_group || !group_open_)) co_return;
        if (syncs_in_flight_ == 0) {
            close_group();  // the reads gathered so far leave first, on their own Sync
            continue;
        }
        struct Wait {
            Connection& c;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) { c.send_waiters_.push_back(h); }
            void await_resume() const noexcept {}
        };
        co_await Wait{*this};
    }
}

void Connection::wake_senders() {
    for (auto waiter : std::exchange(send_waiters_, {})) asio::post(pool_.ioc(), [waiter] { waiter.resume(); });
}

bool Connection::sync() {
    if (!PQpipelineSync(conn_)) return false;
    ++syncs_in_flight_;
    return true;
}

bool Connection::send(const std::string& name, const std::string& unnamed_sql, const TextParams& text) {
    if (!name.empty()) return PQsendQueryPrepared(conn_, name.c_str(), text.count(), text.values(), nullptr, nullptr, 0);
    return PQsendQueryParams(conn_, unnamed_sql.c_str(), text.count(), nullptr, text.values(), nullptr, nullptr, 0);
}

void Connection::send_alone(const std::string& name, const std::string& unnamed_sql, const TextParams& text, Op& op) {
    if (!send(name, unnamed_sql, text) || !sync()) throw send_failed();
    ++op.commands;
}

core::Task<void> Connection::submit(const std::shared_ptr<Op>& op, bool send_now) {
    op->sent = Clock::now();
    pending_.push_back(op);
    publish();
    pool_.watch();
    if (send_now) pump();
    co_await op->answer.wait();
}

void Connection::answer(const std::shared_ptr<Op>& op, Outcome&& outcome) {
    op->answer.deliver(std::move(outcome), pool_.ioc());
}

void Connection::fail_all(const DatabaseError& error) {
    auto ops = std::move(pending_);
    pending_.clear();
    stalled_ = false;
    ++finished_;  // whatever comes to the front next is a new statement
    publish();
    for (auto& op : ops) answer(op, Outcome::failed(error));
}

void Connection::cork() {
    if (corked_) return;
    int on = 1;
    ::setsockopt(PQsocket(conn_), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    corked_ = true;
    schedule_turn_end();
}

void Connection::schedule_turn_end() {
    if (turn_end_scheduled_) return;
    turn_end_scheduled_ = true;
    asio::post(pool_.ioc(), [self = shared_from_this()] { self->end_turn(); });
}

void Connection::end_turn() {
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

void Connection::close_group() {
    if (!group_open_ || state_ != State::ready) return;
    group_open_ = false;
    if (!sync()) return broken(PQerrorMessage(conn_));
    auto barrier = std::make_shared<Op>();
    barrier->kind = Op::Kind::barrier;
    pending_.push_back(std::move(barrier));
}

void Connection::pump() {
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

void Connection::on_ready(boost::system::error_code ec) {
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

bool Connection::consume() {
    if (PQconsumeInput(conn_) && PQstatus(conn_) != CONNECTION_BAD) return true;
    broken(PQerrorMessage(conn_));
    return false;
}

bool Connection::process() {
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
            if (--syncs_in_flight_ == 0 && !send_waiters_.empty()) wake_senders();
            finish_front();
            continue;
        }
        op->in_command = true;
        Outcome& read = op->read;
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            read.result = result_of(r);
        } else if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR) {
            if (!read.error) read.error = error_of(r);
            if (!op->prepared.empty()) prepared_.erase(op->prepared);
        } else if (status == PGRES_PIPELINE_ABORTED && !read.error) {
            // An earlier statement of the group failed: a grouped read is sent again; anything
            // else has a Sync of its own, so this cannot be, but must not pass for success.
            if (op->grouped)
                read.aborted = true;
            else
                read.error = DatabaseError(DatabaseError::Kind::other, "statement skipped after another failed");
        }  // otherwise PGRES_PIPELINE_ABORTED follows the op's own failed command; its error is kept
        PQclear(r);
        if (PQstatus(conn_) == CONNECTION_BAD) {
            broken(PQerrorMessage(conn_));
            return false;
        }
    }
    return true;
}

void Connection::finish_front() {
    auto op = std::move(pending_.front());
    pending_.pop_front();
    ++finished_;
    const auto now = Clock::now();
    if (StatementCost* cost = cost_of(*op); cost && !op->read.error && !op->read.aborted) {
        const auto took = now - std::max(last_finish_, op->sent);
        cost->usual = cost->measured ? cost->usual + (took - cost->usual) / Tuning::cost_smoothing : took;
        cost->measured = true;
    }
    last_finish_ = now;
    stalled_ = false;
    if (pending_.empty()) publish();
    answer(op, std::move(op->read));
    // Room again for a statement waiting for the pool. Statements waiting to be sent
    // (wait_to_send) leave the count all at once when woken: not only at the limit.
    if (depth() < Tuning::max_pipeline_depth) pool_.notify();
}

}  // namespace db::postgres
