// A PostgreSQL connection's life: connecting without blocking, reconnecting with
// backoff, giving up a connection that broke, and cancelling a statement that ran too
// long where the session cannot carry the timeout (pg_connection.hpp).

#include <array>
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "db/postgres/pg_connection.hpp"
#include "db/postgres/pool.hpp"

namespace db::postgres {

void Connection::connect() {
    drop();
    state_ = State::connecting;
    publish();
    connect_started_ = Clock::now();
    pool_.watch();
    // The statement timeout is a session setting, sent with the startup packet, unless
    // sessions are not ours (DB_PREPARED_STATEMENTS=false: check_deadlines enforces it).
    const std::string options = "-c statement_timeout=" + std::to_string(pool_.options().statement_timeout.count());
    const std::string& name = pool_.options().application_name;
    std::vector<const char*> keys, values;
    const auto add = [&](const char* key, const char* value) {
        keys.push_back(key);
        values.push_back(value);
    };
    add("dbname", pool_.conninfo().c_str());  // expanded: the whole URL or conninfo
    if (pool_.options().prepared_statements) add("options", options.c_str());
    if (!name.empty()) add("application_name", name.c_str());
    add(nullptr, nullptr);
    conn_ = PQconnectStartParams(keys.data(), values.data(), 1);
    if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) return connect_failed();
    PQsetNoticeProcessor(conn_, log_notice, nullptr);
    PQsetnonblocking(conn_, 1);
    poll_connect(PGRES_POLLING_WRITING);
}

void Connection::poll_connect(PostgresPollingStatusType status) {
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

void Connection::connected() {
    if (!PQenterPipelineMode(conn_) || !attach_socket()) return connect_failed();
    state_ = State::ready;
    publish();
    backoff_ = Tuning::min_backoff;
    ++generation_;
    if (reported_down_) core::log::info("database connection restored");
    reported_down_ = false;
    pool_.notify();
}

void Connection::connect_failed(const std::string& why) {
    if (!reported_down_) {
        core::log::warn("database connection failed", {{"error", why}});
        reported_down_ = true;
    }
    drop();
    state_ = State::down;
    publish();
    pool_.notify();  // waiters learn there is nothing to wait for
    retry_later();
}

void Connection::retry_later() {
    if (closing_) return;
    backoff_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, Tuning::max_backoff);
    backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec && !self->closing_) self->connect();
    });
}

bool Connection::attach_socket() {
    const int fd = PQsocket(conn_);
    if (fd < 0) return false;
    if (socket_.is_open() && socket_.native_handle() == fd) return true;
    detach_socket();
    boost::system::error_code ec;
    socket_.assign(fd, ec);
    return !ec;
}

void Connection::detach_socket() {
    if (!socket_.is_open()) return;
    boost::system::error_code ignored;  // nothing to do if there was nothing to cancel
    socket_.cancel(ignored);
    socket_.release();  // libpq owns the file descriptor; PQfinish closes it
    reading_ = writing_ = false;
}

void Connection::drop() {
    group_open_ = false;
    syncs_in_flight_ = 0;
    if (!send_waiters_.empty()) wake_senders();  // to learn that the connection is gone
    detach_socket();
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
    statements_.clear();  // with the ops that index it: none is pending on a dropped connection
    stalled_ = false;
}

void Connection::broken(std::string_view why, DatabaseError::Kind kind) {
    if (state_ != State::ready) return;
    core::log::warn("database connection lost", {{"error", why}});
    reported_down_ = true;
    state_ = State::down;
    exclusive = false;
    publish();
    ++generation_;
    fail_all(DatabaseError(kind, "database unavailable: " + std::string(why)));
    drop();
    pool_.notify();
    retry_later();
}

void Connection::enforce_statement_timeout(Clock::time_point now) {
    const auto limit = pool_.options().statement_timeout;
    if (pool_.options().prepared_statements || limit.count() == 0) return;
    if (front_seen_ != finished_) {  // a new statement at the front: its time starts
        front_seen_ = finished_;
        front_since_ = now;
        return;
    }
    if (cancelled_ == finished_ || pending_.front()->kind == Op::Kind::barrier || now - front_since_ < limit) return;
    cancelled_ = finished_;
    PGcancel* cancel = PQgetCancel(conn_);
    if (!cancel) return;
    core::log::warn("cancelling a statement that ran longer than DB_STATEMENT_TIMEOUT");
    // libpq 15 cancels only by blocking (it connects to the server to ask): on a thread
    // of its own, which ends with the request. Rare: once per statement run too long.
    std::thread([cancel] {
        std::array<char, 256> error{};
        if (!PQcancel(cancel, error.data(), static_cast<int>(error.size())))
            core::log::warn("cancel request failed", {{"error", error.data()}});
        PQfreeCancel(cancel);
    }).detach();
}

}  // namespace db::postgres
