#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "../integration/support.hpp"
#include "api/service.hpp"
#include "core/run.hpp"

extern char** environ;

namespace e2e {

namespace {
std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

std::string temp_folder() {
    static std::atomic<int> counter{0};
    std::string path = ::testing::TempDir() + "items-e2e-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++);
    std::string cmd = "rm -rf '" + path + "' && mkdir -p '" + path + "'";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("cannot create " + path);
    return path;
}

Process::Process(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                 const std::string& cwd)
    : out_path_(cwd + "/stdout.log"), err_path_(cwd + "/stderr.log") {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        const auto name = entry.substr(0, entry.find('='));
        if (!env.count(name)) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        if (::chdir(cwd.c_str()) != 0) ::_exit(127);
        const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, 1);
        ::dup2(err, 2);
        std::vector<char*> argv, envp;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
}

Process::~Process() {
    if (!exit_code_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

std::string Process::output() const { return read_file(out_path_); }
std::string Process::errors() const { return read_file(err_path_); }

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (output().find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

void Process::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return exit_code_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
}

Connection::Connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot connect to port " + std::to_string(port));
}

Connection::~Connection() { ::close(fd_); }

bool Connection::send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

Chunks chunked_body(const std::string& raw, std::size_t at) {
    Chunks chunks;
    for (;;) {
        const auto line_end = raw.find("\r\n", at);
        if (line_end == std::string::npos) return chunks;
        const std::size_t size = std::stoul(raw.substr(at, line_end - at), nullptr, 16);
        if (size == 0) {  // the last chunk (no trailers): the answer ends after its CRLF CRLF
            if (raw.compare(line_end, 4, "\r\n\r\n") == 0) chunks.end = line_end + 4;
            return chunks;
        }
        if (raw.size() < line_end + 2 + size + 2) return chunks;
        chunks.body.append(raw, line_end + 2, size);
        at = line_end + 2 + size + 2;
    }
}

std::optional<RawResponse> Connection::read_response(std::chrono::milliseconds timeout) {
    return read(timeout, false);
}

std::optional<RawResponse> Connection::read_head_response(std::chrono::milliseconds timeout) {
    return read(timeout, true);
}

std::optional<RawResponse> Connection::read(std::chrono::milliseconds timeout, bool head_only) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto fill = [&]() -> bool {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char chunk[65536];
        const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    };
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) return std::nullopt;

    RawResponse r;
    std::istringstream head(buffer_.substr(0, end));
    std::string line;
    std::getline(head, line);
    if (!line.starts_with("HTTP/1.") || line.size() < 12 || !std::isdigit(static_cast<unsigned char>(line[9])))
        return std::nullopt;
    r.status = std::stoi(line.substr(9, 3));
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
    }
    if (head_only) {
        buffer_.erase(0, end + 4);
        return r;
    }
    if (r.headers["transfer-encoding"] == "chunked") {  // a streamed answer: its chunks' data, joined
        Chunks chunks;
        while ((chunks = chunked_body(buffer_, end + 4)).end == std::string::npos)
            if (!fill()) return std::nullopt;
        r.body = std::move(chunks.body);
        buffer_.erase(0, chunks.end);
        return r;
    }
    const std::size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buffer_.size() < end + 4 + length)
        if (!fill()) return std::nullopt;
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
}

bool Connection::closed_by_peer(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
}

Server::Server(std::map<std::string, std::string> env) : folder_(temp_folder()) {
    env.emplace("PORT", "0");
    env.emplace("HOST", "127.0.0.1");
    env.emplace("THREADS", "2");
    env.emplace("LOG_FORMAT", "json");
    env.emplace("DATABASE_URL", "sqlite:///" + folder_ + "/app.db");
    {
        Process migrate({ITEMS_API_BINARY, "migrate", "up"}, env, folder_);
        if (migrate.wait(std::chrono::seconds(30)) != 0) throw std::runtime_error("migrate up failed: " + migrate.errors());
    }
    process_ = std::make_unique<Process>(std::vector<std::string>{ITEMS_API_BINARY, "serve"}, env, folder_);
    if (!process_->wait_for_output("\"msg\":\"listening\"", std::chrono::seconds(30)))
        throw std::runtime_error("the server did not start: " + process_->errors() + process_->output());
    const std::string out = process_->output();
    const auto at = out.find("\"port\":", out.find("\"msg\":\"listening\""));
    if (at == std::string::npos) throw std::runtime_error("no port in: " + out);
    port_ = std::stoi(out.substr(at + 7));
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string request_text(const std::string& method, const std::string& target, const std::string& body,
                         const std::string& headers) {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + headers;
    if (!body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n";
    raw += body;
    return raw;
}

std::optional<RawResponse> exchange(int port, const std::string& method, const std::string& target,
                                    const std::string& body, const std::string& headers,
                                    std::chrono::milliseconds timeout) {
    try {
        Connection c(port);
        if (!c.send(request_text(method, target, body, headers))) return std::nullopt;
        return c.read_response(timeout);
    } catch (const std::runtime_error&) {  // nobody listens
        return std::nullopt;
    }
}

SlowClient::SlowClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    const int size = 8192;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);  // before connect: it sets the window
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        throw std::runtime_error("nobody listens on port " + std::to_string(port));
    }
}

SlowClient::~SlowClient() { ::close(fd_); }

bool SlowClient::send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

bool SlowClient::read_until(std::size_t bytes) {
    char buf[16384];
    // (The end of a chunked answer, seen without parsing all of it again at each read.)
    while (raw.size() < bytes && !(raw.ends_with("\r\n0\r\n\r\n") && parse().whole)) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            raw.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        reset = n < 0 && errno == ECONNRESET;
        ended = true;
        return false;
    }
    return true;
}

void SlowClient::read_all() {
    while (read_until(raw.size() + (1 << 20)) && !parse().whole) {
    }
}

SlowClient::Answer SlowClient::parse() const {
    Answer a;
    const auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return a;
    a.head = raw.substr(0, end + 2);
    Chunks chunks = chunked_body(raw, end + 4);
    a.body = std::move(chunks.body);
    a.whole = chunks.end != std::string::npos;
    return a;
}

void run_sql(const std::string& url, const std::map<std::string, std::string>& settings, const std::string& sql) {
    config::Environment env(settings.begin(), settings.end());
    boost::asio::io_context ioc;
    auto connector = api::open_database(testing_support::settings_for(url, std::move(env)));
    auto database = connector->open(ioc);
    core::run_until_complete(ioc, [](db::Database& d, std::string text) -> core::Task<void> {
        co_await d.query(text);
    }(*database, sql));
}

}  // namespace e2e
