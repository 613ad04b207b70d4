// Micro-benchmarks of the hot paths that need no socket or database: routing, token
// verification, and the JSON decode/encode of a request and a response.
// Built with -DITEMS_BENCHMARKS=ON (bench/run does); run build/release/bench/micro_benchmarks.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "api/models.hpp"
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
    for (auto _ : state) benchmark::DoNotOptimize(codec.verify(token));
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
        benchmark::DoNotOptimize(codec.verify(tokens[i]));
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

}  // namespace

BENCHMARK_MAIN();
