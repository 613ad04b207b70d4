// libFuzzer target: bytes as they come off a socket -> the server's own HTTP parsing
// (Beast's parser with the server's limits, then its framing checks) -> the App: every
// middleware, routing, parameter and body validation, JSON and form decoding, and the
// handlers as far as they get without a database (its URL names a port nobody listens on:
// a statement is answered 503 at once).
//
// Every answer must be a status below 500 or a 503, with a body that is strict JSON
// when it says it is; anything else, and any crash or sanitizer report, is a finding.
//
//   build/fuzz/tests/fuzz/request_fuzzer tests/fuzz/corpus -max_total_time=60
// (./dev fuzz does that; CI runs it for about a minute, from the committed corpus.)

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "api/service.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "http/server.hpp"
#include "http/test_client.hpp"
#include "http/wire.hpp"

namespace {

namespace bhttp = boost::beast::http;

struct Fixture {
    Fixture() {
        core::log::configure(core::log::Level::critical, core::log::Format::text);
        settings = config::load_settings(
            {{"DATABASE_URL", "postgresql://fuzz@127.0.0.1:1/fuzz?connect_timeout=1"},
             {"DB_POOL_SIZE", "1"},
             {"DB_POOL_TIMEOUT", "0.01"},
             {"SECRET_KEY", "fuzzing-secret-key-fuzzing-secret-key-0123"},
             {"RATE_LIMIT_DEFAULT", "off"},
             {"RATE_LIMIT_AUTH", "off"},
             {"CORS_ORIGINS", "https://app.example.com"}});
        service = std::make_unique<api::Service>(settings);
        client = std::make_unique<http::TestClient>(service->app(), service->worker_init());
    }
    config::Settings settings;
    std::unique_ptr<api::Service> service;
    std::unique_ptr<http::TestClient> client;
};

[[noreturn]] void finding(const char* what, const http::Response& res) {
    std::fprintf(stderr, "finding: %s (status %d, body %.300s)\n", what, res.status,
                 res.body.c_str());
    std::abort();
}

void check(const http::Response& res) {
    if (res.status >= 500 && res.status != 503) finding("a server error", res);
    const std::string* type = res.headers.find("content-type");
    if (type && type->starts_with("application/json")) {
        boost::system::error_code ec;
        boost::json::parse(res.body, ec);
        if (ec) finding("a body that says JSON and is not", res);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fixture;
    const http::ServerOptions limits;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    parser.eager(true);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(data, size), ec);
    if (ec || !parser.is_header_done()) return 0;  // the server answers 400/413/431 and closes
    if (http::framing_problem(parser.get(), limits.header_line_limit).status != 0) return 0;  // refused before any route
    if (!parser.is_done()) return 0;  // the server would wait for the rest
    http::Request request = http::to_request(parser.release());
    request.remote_address = "203.0.113.7";
    auto& client = *fixture.client;
    client.run(
        [](http::App& app, http::Request& req, http::WorkerState* worker) -> core::Task<void> {
            check(co_await app.handle(req, worker));
        }(fixture.service->app(), request, client.worker()));
    return 0;
}
