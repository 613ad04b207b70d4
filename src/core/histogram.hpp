#pragma once
// Latency histograms as Prometheus keeps them: a count per bucket of fixed upper bounds, the
// number of observations and their sum. The bounds suit a service that answers in well under
// a millisecond and hashes a password in tens of them: 0.5 ms to 10 s.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace core {

inline constexpr std::array<double, 14> kLatencyBounds{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// The bucket of a duration: the first bound it does not exceed, kLatencyBounds.size() (+Inf) if
// none.
inline std::size_t latency_bucket(std::chrono::nanoseconds d) {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < kLatencyBounds.size() && seconds > kLatencyBounds[i]) ++i;
    return i;
}

// What a histogram holds at one moment; the buckets are not cumulative (+Inf is the last).
struct HistogramCounts {
    std::array<std::uint64_t, kLatencyBounds.size() + 1> buckets{};
    std::uint64_t count = 0;
    std::uint64_t sum_ns = 0;

    HistogramCounts& operator+=(const HistogramCounts& other) {
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
        count += other.count;
        sum_ns += other.sum_ns;
        return *this;
    }
};

// A histogram any thread may add to (an atomic add per field: for events that are not on
// every request's path, such as password hashes) and any may read.
class Histogram {
  public:
    void observe(std::chrono::nanoseconds d) {
        buckets_[latency_bucket(d)].fetch_add(1, std::memory_order_relaxed);
        sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()),
                          std::memory_order_relaxed);
    }
    HistogramCounts snapshot() const {
        HistogramCounts c;
        // The count is the buckets' sum, so that it agrees with them however the reads
        // interleave with observations.
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            c.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
            c.count += c.buckets[i];
        }
        c.sum_ns = sum_ns_.load(std::memory_order_relaxed);
        return c;
    }

  private:
    std::array<std::atomic<std::uint64_t>, kLatencyBounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace core
