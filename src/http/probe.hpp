#pragma once
// A minimal HTTP/1.1 client for one GET: what a healthcheck command asks of a running
// service, so that a container image needs no curl.

#include <chrono>
#include <cstdint>
#include <string>

namespace http {

struct ProbeResult {
    int status = 0;     // 0: no answer
    std::string body;   // the answer's body (Content-Length bodies only)
    std::string error;  // why there was no answer
};

// GET `path` from host:port, "Connection: close", everything within `timeout`. A host given
// as a wildcard (0.0.0.0, ::) is asked on loopback. Never throws.
ProbeResult probe(const std::string& host, std::uint16_t port, const std::string& path,
                  std::chrono::milliseconds timeout, const std::string& user_agent = {});

}  // namespace http
