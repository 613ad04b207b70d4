// Prometheus metrics (http/metrics.hpp): the text format, the requests' counters by route
// template, and the service's /metrics with its database, hashing and limit metrics. The
// output of a real process is checked with promtool in tests/e2e/observability_test.cpp.

#include "http/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "api_support.hpp"
#include "core/log.hpp"
#include "http/route.hpp"
#include "http/test_client.hpp"

namespace {

using http::Response;

// The samples of an exposition: "name{labels}" -> value. Comment lines are checked to be
// HELP or TYPE lines.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find('\n', at);
        EXPECT_NE(end, std::string::npos) << "the last line has no newline";
        const std::string line = text.substr(at, end - at);
        at = end == std::string::npos ? text.size() : end + 1;
        if (line.starts_with("#")) {
            EXPECT_TRUE(line.starts_with("# HELP ") || line.starts_with("# TYPE ")) << line;
            continue;
        }
        const auto space = line.rfind(' ');
        EXPECT_NE(space, std::string::npos) << line;
        if (space == std::string::npos) continue;
        EXPECT_FALSE(out.contains(line.substr(0, space))) << "twice: " << line;
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

double value(const std::map<std::string, double>& s, const std::string& series) {
    const auto it = s.find(series);
    return it == s.end() ? -1 : it->second;
}

TEST(Exposition, EscapesLabelValuesAndWritesCumulativeHistograms) {
    http::Exposition out;
    out.family("x_total", "counter", "A help text with a \\ and\na newline");
    out.sample("x_total", {{"path", "a\"b\\c\nd"}}, 3);
    core::HistogramCounts counts;
    counts.buckets[0] = 2;                            // <= 0.5 ms
    counts.buckets[3] = 1;                            // <= 5 ms
    counts.buckets[core::kLatencyBounds.size()] = 1;  // over 10 s
    counts.sum_ns = 12'500'000'000;
    out.family("d_seconds", "histogram", "Durations");
    out.histogram("d_seconds", {{"route", "/r"}}, counts);
    const std::string& text = out.text();
    EXPECT_NE(
        text.find(
            "# HELP x_total A help text with a \\\\ and\\na newline\n# TYPE x_total counter\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("x_total{path=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
    const auto s = samples(text);
    EXPECT_EQ(value(s, R"(d_seconds_bucket{route="/r",le="0.0005"})"), 2);
    EXPECT_EQ(value(s, R"(d_seconds_bucket{route="/r",le="0.0025"})"), 2);
    EXPECT_EQ(value(s, R"(d_seconds_bucket{route="/r",le="0.005"})"), 3);
    EXPECT_EQ(value(s, R"(d_seconds_bucket{route="/r",le="10"})"), 3);
    EXPECT_EQ(value(s, R"(d_seconds_bucket{route="/r",le="+Inf"})"), 4);
    EXPECT_EQ(value(s, R"(d_seconds_count{route="/r"})"), 4);
    EXPECT_EQ(value(s, R"(d_seconds_sum{route="/r"})"), 12.5);
}

// A family is declared once, with its labels: the exposition and the docs table come from
// the same declaration, and a reader that gives the wrong number of label values, or a
// name declared twice, is a programming error said at once.
TEST(MetricsRegistry, AFamilyIsDeclaredOnceAndServedAndDocumentedFromThere) {
    http::MetricsRegistry registry;
    using Type = http::MetricsRegistry::Type;
    registry.add({"jobs_total", Type::counter, "Jobs done, by kind", {"kind"}},
                 [](http::MetricsRegistry::Samples& out) {
                     out.add({"a"}, 2);
                     out.add({"b"}, 3);
                 });
    registry.add({"queue_depth", Type::gauge, "Jobs waiting", {}}, [](auto& out) { out.add({}, 7); });
    EXPECT_THROW(registry.add({"jobs_total", Type::gauge, "again", {}}, [](auto&) {}), std::logic_error);
    const auto text = registry.exposition();
    EXPECT_LT(text.find("# TYPE jobs_total counter"), text.find("# TYPE queue_depth gauge"));
    const auto s = samples(text);
    EXPECT_EQ(value(s, R"(jobs_total{kind="a"})"), 2);
    EXPECT_EQ(value(s, R"(jobs_total{kind="b"})"), 3);
    EXPECT_EQ(value(s, "queue_depth"), 7);
    const auto table = registry.markdown();
    EXPECT_NE(table.find("| `jobs_total` | counter | `kind` | Jobs done, by kind |"), std::string::npos) << table;
    EXPECT_NE(table.find("| `queue_depth` | gauge |  | Jobs waiting |"), std::string::npos) << table;

    http::MetricsRegistry wrong;
    wrong.add({"x", Type::gauge, "x", {"a", "b"}}, [](auto& out) { out.add({"only one"}, 1); });
    EXPECT_THROW(wrong.exposition(), std::logic_error);
}

class RequestCounting : public ::testing::Test {
  protected:
    RequestCounting() {
        core::log::configure(core::log::Level::critical, core::log::Format::text);
        app.use(metrics);
        http::Routes routes;
        routes.get("/things/{id}", {}, [this]() -> core::Task<Response> {
            // What a scrape during this request says: it is in flight.
            in_flight_seen = value(scrape(), "http_requests_in_flight");
            co_return Response::json(200, "{}");
        });
        app.include(routes.take());
    }
    std::string exposition() const {
        http::MetricsRegistry registry;
        http::RequestMetrics::add_to(registry, metrics);
        return registry.exposition();
    }
    std::map<std::string, double> scrape() const { return samples(exposition()); }

    http::App app;
    std::shared_ptr<http::RequestMetrics> metrics = std::make_shared<http::RequestMetrics>(app);
    double in_flight_seen = -1;
};

TEST_F(RequestCounting, ByRouteTemplateNeverByRawPath) {
    http::TestClient client(app, nullptr);
    for (const char* path :
         {"/things/1", "/things/2", "/things/%0A%22evil%22", "/nowhere", "/nowhere/else"})
        client.get(path);
    EXPECT_EQ(in_flight_seen, 1);
    client.request("BREW", "/things/1");
    client.post("/things/1", "{}");

    const std::string text = exposition();
    EXPECT_EQ(text.find("/things/1"), std::string::npos) << "a raw path became a label";
    EXPECT_EQ(text.find("evil"), std::string::npos);
    EXPECT_EQ(text.find("/nowhere"), std::string::npos);
    const auto s = samples(text);
    EXPECT_EQ(value(s, R"(http_requests_total{method="GET",route="/things/{id}",status="200"})"),
              3);
    EXPECT_EQ(value(s, R"(http_requests_total{method="GET",route="unmatched",status="404"})"), 2);
    EXPECT_EQ(value(s, R"(http_requests_total{method="other",route="unmatched",status="405"})"), 1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="unmatched",status="405"})"), 1);
    EXPECT_EQ(
        value(
            s,
            R"(http_request_duration_seconds_count{method="GET",route="/things/{id}",status="200"})"),
        3);
    EXPECT_EQ(
        value(
            s,
            R"(http_request_duration_seconds_bucket{method="GET",route="/things/{id}",status="200",le="+Inf"})"),
        3);
    EXPECT_GT(
        value(
            s,
            R"(http_request_duration_seconds_sum{method="GET",route="/things/{id}",status="200"})"),
        0);
    EXPECT_EQ(value(s, "http_requests_in_flight"), 0);
}

// Each thread counts in its own shard; a scrape adds them all up, while they count.
TEST_F(RequestCounting, ThreadsCountApartAndAddUp) {
    constexpr int kThreads = 4, kEach = 500;
    std::vector<std::thread> threads;
    std::atomic<bool> scraping{true};
    std::thread scraper([&] {
        while (scraping) {
            const auto s = scrape();
            const double n =
                value(s, R"(http_requests_total{method="GET",route="/things/{id}",status="200"})");
            EXPECT_LE(n, kThreads * kEach);
        }
    });
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            http::TestClient client(app, nullptr);
            for (int i = 0; i < kEach; ++i) client.get("/things/" + std::to_string(i));
        });
    for (auto& t : threads) t.join();
    scraping = false;
    scraper.join();
    EXPECT_EQ(
        value(scrape(), R"(http_requests_total{method="GET",route="/things/{id}",status="200"})"),
        kThreads * kEach);
}

// The service's /metrics, on each backend: the counters move with the requests made.
class Metrics : public testing_support::ApiTest {
  protected:
    Metrics()
        : ApiTest({{"RATE_LIMIT_AUTH", "4/minute"},
                   {"LOGIN_MAX_FAILURES", "1"},
                   {"LOGIN_MAX_FAILURES_PER_CLIENT", "1000"}}) {}
    std::map<std::string, double> scrape() {
        const auto r = client.get("/metrics");
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(*r.headers.find("content-type"), "text/plain; version=0.0.4; charset=utf-8");
        return samples(r.body);
    }
};

TEST_P(Metrics, CountersMoveWithTheRequests) {
    const auto before = scrape();
    EXPECT_EQ(
        value(before, R"(http_requests_total{method="POST",route="/auth/register",status="201"})"),
        -1);
    EXPECT_EQ(value(before, "items_api_password_hash_duration_seconds_count"), 0);

    const std::string token = user_token("a@example.com");  // a hash, a check
    EXPECT_EQ(client.post("/items/", R"({"title":"t"})", bearer(token)).status, 201);
    EXPECT_EQ(client.get("/items/1", bearer(token)).status, 200);
    EXPECT_EQ(client.get("/items/999", bearer(token)).status, 404);
    EXPECT_EQ(login("a@example.com", "wrong-password").status,
              401);  // a check; the account's one failure
    EXPECT_EQ(login("a@example.com", "wrong-password").status, 429);  // the failed-login limit
    EXPECT_EQ(register_user("b@example.com").status, 429);  // the 5th auth request: RATE_LIMIT_AUTH

    const auto s = scrape();
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="/auth/register",status="201"})"),
              1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="/auth/register",status="429"})"),
              1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="/auth/token",status="200"})"),
              1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="/auth/token",status="401"})"),
              1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="/auth/token",status="429"})"),
              1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="POST",route="/items/",status="201"})"), 1);
    EXPECT_EQ(
        value(s, R"(http_requests_total{method="GET",route="/items/{item_id}",status="200"})"), 1);
    EXPECT_EQ(
        value(s, R"(http_requests_total{method="GET",route="/items/{item_id}",status="404"})"), 1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="GET",route="/metrics",status="200"})"), 1);
    EXPECT_EQ(value(s, "http_requests_in_flight"), 1);  // the scrape itself

    EXPECT_EQ(value(s, "items_api_password_hash_duration_seconds_count"), 3);
    EXPECT_GT(value(s, "items_api_password_hash_duration_seconds_sum"), 0);
    EXPECT_EQ(value(s, "items_api_password_hash_queue_depth"), 0);
    EXPECT_EQ(value(s, "items_api_password_hash_running"), 0);
    EXPECT_GE(value(s, "items_api_password_hash_threads"), 1);
    EXPECT_EQ(value(s, "items_api_password_hash_rejected_total"), 0);
    EXPECT_EQ(value(s, R"(items_api_rate_limited_total{limit="auth"})"), 1);
    EXPECT_EQ(value(s, R"(items_api_rate_limited_total{limit="default"})"), 0);
    EXPECT_EQ(value(s, R"(items_api_rate_limited_total{limit="failed_logins"})"), 1);

    const std::string backend = GetParam() == "sqlite" ? "sqlite" : "postgresql";
    bool build_info = false;
    for (const auto& [series, v] : s)
        if (series.starts_with("items_api_build_info{") &&
            series.find("database=\"" + backend + "\"") != std::string::npos && v == 1)
            build_info = true;
    EXPECT_TRUE(build_info);

    // One thread's pool here (the test client's): PostgreSQL's DB_POOL_SIZE connections,
    // SQLite's writer; nothing waits, nothing is in use between requests.
    const double in_use = value(s, R"(items_api_db_connections{state="in_use"})");
    const double idle = value(s, R"(items_api_db_connections{state="idle"})");
    EXPECT_EQ(in_use, 0);
    if (GetParam() == "sqlite") {
        EXPECT_EQ(idle, 1);
    } else {  // those connected by now
        EXPECT_GE(idle, 1);
        EXPECT_LE(idle, sut.settings.db_pool_size);
    }
    EXPECT_EQ(value(s, "items_api_db_waiting"), 0);

    EXPECT_GT(value(s, "process_resident_memory_bytes"), 1e6);
    EXPECT_GT(value(s, "process_virtual_memory_bytes"), 1e6);
    EXPECT_GT(value(s, "process_open_fds"), 3);
    EXPECT_GT(value(s, "process_max_fds"), 0);
    EXPECT_GT(value(s, "process_cpu_seconds_total"), 0);
    const double started = value(s, "process_start_time_seconds");
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(started, now - 24 * 3600);
    EXPECT_LE(started, now + 1);
}

// A transaction holds a connection: the pool says so while it is open.
TEST_P(Metrics, AnOpenTransactionIsAConnectionInUse) {
    std::unique_ptr<db::Transaction> tx;
    client.run([](db::Database& d, std::unique_ptr<db::Transaction>& out) -> core::Task<void> {
        out = co_await d.begin();
    }(database(), tx));
    auto s = scrape();
    EXPECT_EQ(value(s, R"(items_api_db_connections{state="in_use"})"), 1);
    client.run([](db::Transaction& t) -> core::Task<void> { co_await t.rollback(); }(*tx));
    tx.reset();
    s = scrape();
    EXPECT_EQ(value(s, R"(items_api_db_connections{state="in_use"})"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, Metrics, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

TEST(MetricsSettings, OffMeansNoRouteAndNoCounting) {
    testing_support::FreshDatabase fresh("sqlite");
    testing_support::ServiceUnderTest sut(fresh.url(), {{"METRICS_ENABLED", "false"}});
    EXPECT_EQ(sut.client->get("/metrics").status, 404);
    EXPECT_EQ(sut.service.metrics_app(), nullptr);
}

TEST(MetricsSettings, OnItsOwnPortTheApiDoesNotServeThem) {
    testing_support::FreshDatabase fresh("sqlite");
    testing_support::ServiceUnderTest sut(fresh.url(), {{"METRICS_PORT", "9464"}});
    EXPECT_EQ(sut.client->get("/metrics").status, 404);
    EXPECT_EQ(sut.client->get("/health").status, 200);
    ASSERT_NE(sut.service.metrics_app(), nullptr);
    http::TestClient metrics_client(*sut.service.metrics_app(), nullptr);
    const auto r = metrics_client.get("/metrics");
    EXPECT_EQ(r.status, 200);
    // The API's requests are counted; the metrics server's own are not.
    const auto s = samples(r.body);
    EXPECT_EQ(value(s, R"(http_requests_total{method="GET",route="/health",status="200"})"), 1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="GET",route="unmatched",status="404"})"), 1);
    EXPECT_EQ(value(s, R"(http_requests_total{method="GET",route="/metrics",status="200"})"), -1);
    // And the metrics server answers nothing else.
    EXPECT_EQ(metrics_client.get("/health").status, 404);
}

TEST(MetricsSettings, APortEqualToTheApisIsRefusedNamingTheSetting) {
    testing_support::FreshDatabase fresh("sqlite");
    try {
        testing_support::ServiceUnderTest sut(fresh.url(),
                                              {{"PORT", "8123"}, {"METRICS_PORT", "8123"}});
        FAIL() << "accepted";
    } catch (const config::SettingsError& e) {
        EXPECT_EQ(e.setting(), "METRICS_PORT");
    }
    EXPECT_THROW(testing_support::ServiceUnderTest(fresh.url(), {{"METRICS_PORT", "70000"}}),
                 config::SettingsError);
    EXPECT_THROW(testing_support::ServiceUnderTest(fresh.url(), {{"METRICS_ENABLED", "maybe"}}),
                 config::SettingsError);
}

}  // namespace
