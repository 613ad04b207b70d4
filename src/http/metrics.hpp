#pragma once
// Prometheus metrics: the text a scraper reads (Exposition), the requests' own metrics (a
// middleware), the process's (memory, CPU, file descriptors), and the route that serves what
// the application's collectors write.
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
    using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

    // type: "counter", "gauge" or "histogram".
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, Labels labels, double value);
    // A histogram's _bucket (cumulative, le="..."), _sum (seconds) and _count samples.
    void histogram(std::string_view name, Labels labels, const core::HistogramCounts& counts);

    const std::string& text() const { return out_; }

  private:
    void labels(Labels labels, std::string_view le = {});
    std::string out_;
};

// Writes a family and its samples into an exposition; may run on any thread.
using Collector = std::function<void(Exposition&)>;

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

    void collect(Exposition& out) const;

    struct Shard;

  private:
    Shard& shard() const;

    const App& app_;
    const std::uint64_t id_;  // tells instances apart in each thread's cached shard
    mutable std::mutex mutex_;
    mutable std::vector<std::unique_ptr<Shard>> shards_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (as Prometheus's client
// libraries name them), read from /proc.
void collect_process(Exposition& out);

// GET `path`: what the collectors write, in order, as text/plain; version=0.0.4. Not in the
// OpenAPI document.
Route metrics_route(std::string path, std::vector<Collector> collectors);

}  // namespace http
