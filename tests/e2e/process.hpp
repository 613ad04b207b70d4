#pragma once
// A child process of the real binary, and a raw HTTP/1.1 client over loopback:
// what the e2e tests need and no more.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace e2e {

class Process {
public:
    // Starts `args` (args[0] is the program) in `cwd` with the current environment
    // plus `env`; stdout and stderr go to files that output()/errors() read.
    Process(std::vector<std::string> args, const std::map<std::string, std::string>& env, const std::string& cwd);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    std::string output() const;
    std::string errors() const;
    // Waits until stdout contains `needle`; false on timeout or exit.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) const;
    void signal(int sig) const;
    // The exit code, or nullopt if it is still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string out_path_, err_path_;
};

// A fresh empty folder under the test's temporary directory.
std::string temp_folder();

// A loopback port nobody listens on right now.
int free_port();

struct RawResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

// The status of an answer, or 0 when none came: EXPECT_EQ(status_of(exchange(...)), 200)
// then fails saying 0, where `->status` on the empty answer would be undefined.
inline int status_of(const std::optional<RawResponse>& r) { return r ? r->status : 0; }

// The chunked body in `raw` from `at` (just after the head): its data so far, and where
// the answer ends once its last chunk has come (npos until then).
struct Chunks {
    std::string body;
    std::size_t end = std::string::npos;
};
Chunks chunked_body(const std::string& raw, std::size_t at);

class Connection {
public:
    explicit Connection(int port);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Sends all of `data` (false if the peer closed).
    bool send(const std::string& data);
    // Reads one response (a Content-Length or a chunked body); nullopt on close, timeout or
    // bytes that do not start with a status line.
    std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Reads the answer to a HEAD request: its head only, whatever its Content-Length says
    // (RFC 9110 section 9.3.2); what follows is the next answer's.
    std::optional<RawResponse> read_head_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // True once the peer has closed the connection (reads EOF) within `timeout`.
    bool closed_by_peer(std::chrono::milliseconds timeout);
    // Bytes received after the last answer read: none, when every answer was framed.
    std::size_t unread() const { return buffer_.size(); }

private:
    std::optional<RawResponse> read(std::chrono::milliseconds timeout, bool head_only);

    int fd_ = -1;
    std::string buffer_;
};

// Starts `items-api serve` on a free port with a fresh SQLite database; waits until it listens.
class Server {
public:
    explicit Server(std::map<std::string, std::string> env = {});
    int port() const { return port_; }
    Process& process() { return *process_; }

private:
    std::string folder_;
    std::unique_ptr<Process> process_;
    int port_ = 0;
};

// A request as bytes: `method target` with a Host, `headers` (whole lines, each ending in
// CRLF), and `body` with its Content-Length when there is one.
std::string request_text(const std::string& method, const std::string& target, const std::string& body = {},
                         const std::string& headers = {});

// One request on a connection of its own; nullopt if nobody listens on `port` or no whole
// answer comes within `timeout`.
std::optional<RawResponse> exchange(int port, const std::string& method, const std::string& target,
                                    const std::string& body = {}, const std::string& headers = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A client that reads only when the test says, with a small receive buffer, so that the
// server's writes wait for it; it understands chunked answers.
class SlowClient {
public:
    explicit SlowClient(int port);
    ~SlowClient();
    SlowClient(const SlowClient&) = delete;
    SlowClient& operator=(const SlowClient&) = delete;

    bool send(const std::string& data);
    // Reads until `raw` holds `bytes` or the answer is whole; false once the connection has
    // ended (closed, reset, or silent for 5 s).
    bool read_until(std::size_t bytes);
    // Reads until the answer is whole or the connection ends.
    void read_all();

    struct Answer {
        std::string head;    // the status line and headers
        std::string body;    // the chunks' data, joined
        bool whole = false;  // the last (empty) chunk came
    };
    // The chunked answer as far as it has come.
    Answer parse() const;

    std::string raw;
    bool ended = false;
    bool reset = false;  // it ended with a reset (ECONNRESET)

private:
    int fd_;
};

// Runs `sql` on the database at `url` through the service's own database layer, with the
// service's `settings`: set-up, and changes behind a running service's back.
void run_sql(const std::string& url, const std::map<std::string, std::string>& settings, const std::string& sql);

}  // namespace e2e
