#pragma once
// The HTTP/1.1 server: one io_context and one SO_REUSEPORT acceptor per thread,
// nothing shared between threads on the request path.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/app.hpp"

namespace http {

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;  // 0: any free port (all threads share the one chosen)
    unsigned threads = 1;
    // nginx's defaults (large_client_header_buffers 4 8k): the request line and each field
    // line within 8 KiB, the whole head within 32 KiB; beyond, 414 or 431. Big cookies
    // and tokens fit.
    std::size_t header_line_limit = 8 * 1024;
    std::size_t header_limit = 32 * 1024;
    std::size_t body_limit = 1024 * 1024;
    std::chrono::seconds header_timeout{10};     // to receive a request's headers, and again its body
    std::chrono::seconds keepalive_timeout{5};   // idle time allowed between requests
    std::chrono::seconds shutdown_timeout{10};   // in-flight requests' grace on SIGTERM/SIGINT
    std::string thread_name = "loop-";           // the loops are <thread_name>0, 1, ... (top -H)
    std::string listening_message = "listening";  // logged with host, port and threads once bound
};

class Server {
public:
    Server(App& app, ServerOptions options, WorkerInit init);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds, serves until SIGTERM or SIGINT (or stop()), drains in-flight requests and
    // returns. Throws std::runtime_error if the address cannot be bound.
    void run();

    // Asks run() to drain and return; callable from any thread.
    void stop();

    struct Impl;  // opaque: keeps Asio out of this header

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace http
