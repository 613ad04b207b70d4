#include "http/probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

ProbeResult probe(const std::string& host, std::uint16_t port, const std::string& path,
                  std::chrono::milliseconds timeout, const std::string& user_agent) {
    const std::string target_host = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, path, 11);
    request.set(bhttp::field::host, target_host);
    request.set(bhttp::field::connection, "close");
    if (!user_agent.empty()) request.set(bhttp::field::user_agent, user_agent);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1024 * 1024);
    ProbeResult result;
    const auto fail = [&](const char* stage, beast::error_code ec) {
        result.error = std::string(stage) + ": " + ec.message();
    };

    // The deadline covers resolving, connecting, writing and reading alike: Beast's stream
    // timeouts apply to its asynchronous operations, run here to completion.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto left = [&] {
        return std::max(std::chrono::steady_clock::duration::zero(),
                        deadline - std::chrono::steady_clock::now());
    };
    resolver.async_resolve(
        target_host, std::to_string(port),
        [&](beast::error_code ec, tcp::resolver::results_type endpoints) {
            if (ec) return fail("resolve", ec);
            stream.expires_after(left());
            stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
                if (ec) return fail("connect", ec);
                stream.expires_after(left());
                bhttp::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
                    if (ec) return fail("send", ec);
                    stream.expires_after(left());
                    bhttp::async_read(
                        stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
                            if (ec) return fail("read", ec);
                            result.status = static_cast<int>(parser.get().result_int());
                            result.body = parser.get().body();
                        });
                });
            });
        });
    ioc.run_for(timeout +
                std::chrono::milliseconds(100));  // the resolver has no timeout of its own
    if (result.status == 0 && result.error.empty()) result.error = "no answer within the timeout";
    return result;
}

}  // namespace http
