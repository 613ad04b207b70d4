// Micro-benchmarks of the hot paths that need no socket or database: routing, token
// verification, the JSON decode/encode of a request and a response, and a request's
// metrics (and, where Debian's prometheus-cpp is installed, the same with it, to compare).
// Built with -DITEMS_BENCHMARKS=ON (bench/run does); run build/release/bench/micro_benchmarks.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "api/models.hpp"
#include "http/metrics.hpp"
#include "http/route.hpp"
#include "http/router.hpp"
#include "schema/codec.hpp"
#include "security/tokens.hpp"

namespace {

http::Router service_router() {
    http::Router r;
    std::size_t i = 0;
    r.add("POST", "/auth/register", i++);
    r.add("POST", "/auth/token", i++);
    r.add("GET", "/users/me", i++);
    r.add("DELETE", "/users/me", i++);
    r.add("GET", "/users/{user_id}", i++);
    r.add("POST", "/items/", i++);
    r.add("GET", "/items/", i++);
    r.add("GET", "/items/{item_id}", i++);
    r.add("PATCH", "/items/{item_id}", i++);
    r.add("DELETE", "/items/{item_id}", i++);
    r.add("GET", "/health", i++);
    return r;
}

void RouterMatchItem(benchmark::State& state) {
    const auto router = service_router();
    for (auto _ : state) benchmark::DoNotOptimize(router.match("GET", "/items/12345"));
}
BENCHMARK(RouterMatchItem);

void RouterNotFound(benchmark::State& state) {
    const auto router = service_router();
    for (auto _ : state) benchmark::DoNotOptimize(router.match("GET", "/nope"));
}
BENCHMARK(RouterNotFound);

// A token seen before on this thread: found in the cache of verified tokens.
void TokenVerify(benchmark::State& state) {
    const security::TokenCodec codec("a-very-long-random-secret-key-here", "HS256", std::chrono::minutes(30));
    const std::string token = codec.issue(42);
    for (auto _ : state) benchmark::DoNotOptimize(codec.verify(token)->user_id);
}
BENCHMARK(TokenVerify);

// A token never seen before: the full check (base64, JSON, HMAC in libjwt). The
// tokens are made beforehand, and are more than the cache holds.
void TokenVerifyUncached(benchmark::State& state) {
    const security::TokenCodec codec("a-very-long-random-secret-key-here", "HS256", std::chrono::minutes(30));
    std::vector<std::string> tokens;
    for (int id = 1; id <= 4096; ++id) tokens.push_back(codec.issue(id));
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(codec.verify(tokens[i])->user_id);
        i = (i + 1) % tokens.size();
    }
}
BENCHMARK(TokenVerifyUncached);

void TokenIssue(benchmark::State& state) {
    const security::TokenCodec codec("a-very-long-random-secret-key-here", "HS256", std::chrono::minutes(30));
    for (auto _ : state) benchmark::DoNotOptimize(codec.issue(42));
}
BENCHMARK(TokenIssue);

void DecodeItemCreate(benchmark::State& state) {
    const std::string body = R"({"title": "A title of some length", "description": "and a description to go with it"})";
    for (auto _ : state) {
        schema::Errors e;
        api::ItemCreate item;
        auto v = schema::parse_json(body, e);
        schema::Codec<api::ItemCreate>::from_json(*v, item, e);
        benchmark::DoNotOptimize(item);
    }
}
BENCHMARK(DecodeItemCreate);

void EncodeItemList20(benchmark::State& state) {
    std::vector<api::ItemRead> items;
    for (int i = 0; i < 20; ++i)
        items.push_back({"Item number " + std::to_string(i), "A description of the item", i + 1, 7});
    for (auto _ : state) benchmark::DoNotOptimize(schema::to_json(items));
}
BENCHMARK(EncodeItemList20);

void EncodeValidationErrors(benchmark::State& state) {
    const std::string body = R"({"title": "", "description": 5})";
    for (auto _ : state) {
        schema::Errors e;
        api::ItemCreate item;
        auto v = schema::parse_json(body, e);
        schema::Codec<api::ItemCreate>::from_json(*v, item, e);
        benchmark::DoNotOptimize(schema::to_detail_json(e.items()));
    }
}
BENCHMARK(EncodeValidationErrors);

// What the metrics middleware costs a request: before() and after() for a matched route
// (in flight, the count and the duration of its method, route and status).
void RequestMetricsPerRequest(benchmark::State& state) {
    http::App app;
    http::Routes routes;
    routes.get("/items/{item_id}", {}, []() -> core::Task<http::Response> { co_return http::Response::empty(200); });
    app.include(routes.take());
    const http::RequestMetrics metrics(app);
    http::Request request;
    request.method = "GET";
    request.set_target("/items/7");
    http::Response response = http::Response::empty(200);
    for (auto _ : state) {
        http::RequestContext ctx(request, nullptr);
        ctx.route = &app.routes()[0].info;
        metrics.before(ctx);
        metrics.after(ctx, response);
    }
}
BENCHMARK(RequestMetricsPerRequest);

}  // namespace

#ifdef ITEMS_BENCH_PROMETHEUS_CPP
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace {

// The same with prometheus-cpp, as its examples use it: the labels' series looked up per
// request (Family::Add), the histogram's buckets as ours.
void RequestMetricsPerRequestPrometheusCpp(benchmark::State& state) {
    prometheus::Registry registry;
    auto& in_flight = prometheus::BuildGauge().Name("http_requests_in_flight").Help("in flight").Register(registry);
    auto& total = prometheus::BuildCounter().Name("http_requests_total").Help("answered").Register(registry);
    auto& duration =
        prometheus::BuildHistogram().Name("http_request_duration_seconds").Help("durations").Register(registry);
    auto& gauge = in_flight.Add({});
    const prometheus::Histogram::BucketBoundaries bounds(core::kLatencyBounds.begin(), core::kLatencyBounds.end());
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        gauge.Increment();
        const prometheus::Labels labels{{"method", "GET"}, {"route", "/items/{item_id}"}, {"status", "200"}};
        total.Add(labels).Increment();
        duration.Add(labels, bounds)
            .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        gauge.Decrement();
    }
}
BENCHMARK(RequestMetricsPerRequestPrometheusCpp);

// prometheus-cpp with the series looked up once (what an application would have to cache
// per route and status itself): its counters are atomics shared by every thread.
void RequestMetricsPerRequestPrometheusCppCached(benchmark::State& state) {
    prometheus::Registry registry;
    auto& gauge = prometheus::BuildGauge().Name("http_requests_in_flight").Help("in flight").Register(registry).Add({});
    const prometheus::Labels labels{{"method", "GET"}, {"route", "/items/{item_id}"}, {"status", "200"}};
    auto& total =
        prometheus::BuildCounter().Name("http_requests_total").Help("answered").Register(registry).Add(labels);
    const prometheus::Histogram::BucketBoundaries bounds(core::kLatencyBounds.begin(), core::kLatencyBounds.end());
    auto& duration = prometheus::BuildHistogram()
                         .Name("http_request_duration_seconds")
                         .Help("durations")
                         .Register(registry)
                         .Add(labels, bounds);
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        gauge.Increment();
        total.Increment();
        duration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        gauge.Decrement();
    }
}
BENCHMARK(RequestMetricsPerRequestPrometheusCppCached);

}  // namespace
#endif

BENCHMARK_MAIN();
