#pragma once
// Prometheus metrics: the families an application declares (MetricsRegistry), the text a
// scraper reads (Exposition), the requests' own metrics (a middleware), the process's
// (memory, CPU, file descriptors), and the route that serves them.
//
//   http_requests_total{method="GET",route="/items/{item_id}",status="200"} 1027
//   http_request_duration_seconds_bucket{method="GET",route="/items/{item_id}",status="200",le="0.0005"}
//   1001
//
// Labels are the route's template, never the raw path, so a client cannot make series.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.hpp"
#include "http/app.hpp"

namespace http {

// Prometheus's text format, version 0.0.4: a family's # HELP and # TYPE lines, then its
// samples. Label values are escaped as the format says.
class Exposition {
  public:
    using Label = std::pair<std::string_view, std::string_view>;
    using Labels = std::span<const Label>;

    // type: "counter", "gauge" or "histogram".
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, Labels labels, double value);
    void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
        sample(name, Labels(labels.begin(), labels.size()), value);
    }
    // A histogram's _bucket (cumulative, le="..."), _sum (seconds) and _count samples.
    void histogram(std::string_view name, Labels labels, const core::HistogramCounts& counts);
    void histogram(std::string_view name, std::initializer_list<Label> labels, const core::HistogramCounts& counts) {
        histogram(name, Labels(labels.begin(), labels.size()), counts);
    }

    const std::string& text() const { return out_; }

  private:
    void labels(Labels labels, std::string_view le = {});
    std::string out_;
};

// The metric families an application serves, each declared once — its name, type, help and
// label names — with what reads its samples at a scrape. The exposition (/metrics) and the
// docs table (docs/metrics.md, `items-api metrics`) both come from here, so neither can
// name a family the other lacks.
class MetricsRegistry {
  public:
    enum class Type { counter, gauge, histogram };
    struct Family {
        std::string name;
        Type type;
        std::string help;
        std::vector<std::string> labels;  // their names, in the order a reader gives the values
    };

    // What a family's reader writes at a scrape: its samples, the label values in the
    // family's order (a count that differs is a programming error: std::logic_error).
    class Samples {
      public:
        using Values = std::initializer_list<std::string_view>;
        Samples(Exposition& out, const Family& family) : out_(out), family_(family) {}
        void add(Values values, double value);                        // a counter's or a gauge's
        void add(Values values, const core::HistogramCounts& counts);  // a histogram's

      private:
        // The family's label names paired with `values`.
        std::vector<Exposition::Label> paired(Values values) const;
        Exposition& out_;
        const Family& family_;
    };
    using Read = std::function<void(Samples&)>;

    // Declares a family and its reader (which may run on any thread, once per scrape); a
    // name declared twice is a std::logic_error.
    void add(Family family, Read read);

    const std::vector<Family>& families() const { return families_; }
    // Every family's samples, in the order they were declared, as Prometheus reads them.
    std::string exposition() const;
    // The families as a Markdown table: name, type, labels, help.
    std::string markdown() const;

  private:
    std::vector<Family> families_;
    std::vector<Read> reads_;
};

// Counts every request (the outermost middleware, so that answers given by other middleware
// count too): http_requests_in_flight, and http_requests_total and
// http_request_duration_seconds by method, route template and status. A request no route
// serves has the route "unmatched" and its method if it is a standard one, else "other".
//
// Each thread counts in a shard of its own, which only it writes (plain loads and stores of
// atomics, no locked instruction); a scrape adds the shards up.
class RequestMetrics final : public Middleware {
  public:
    // `app`: where the route templates come from when the metrics are written.
    explicit RequestMetrics(const App& app);
    ~RequestMetrics() override;

    std::optional<Response> before(RequestContext& ctx) const override;
    void after(RequestContext& ctx, Response& response) const override;

    // http_requests_in_flight, http_requests_total and http_request_duration_seconds, read
    // from `metrics`'s shards at each scrape.
    static void add_to(MetricsRegistry& registry, std::shared_ptr<const RequestMetrics> metrics);

    struct Shard;

  private:
    Shard& shard() const;
    // The shards added up: requests in flight, and each series' counts by its key.
    struct Snapshot;
    Snapshot snapshot() const;

    const App& app_;
    const std::uint64_t id_;  // tells instances apart in each thread's cached shard
    mutable std::mutex mutex_;
    mutable std::vector<std::unique_ptr<Shard>> shards_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (as Prometheus's client
// libraries name them), read from /proc at each scrape.
void add_process_metrics(MetricsRegistry& registry);

// GET `path`: the registry's exposition, as text/plain; version=0.0.4. Not in the OpenAPI
// document.
Route metrics_route(std::string path, std::shared_ptr<const MetricsRegistry> registry);

}  // namespace http
