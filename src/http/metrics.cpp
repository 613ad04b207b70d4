#include "http/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace http {

// --- Exposition -----------------------------------------------------------------------

namespace {

void append_number(std::string& out, double value) {
    // Integers (every counter) without a fraction; the rest with the digits a double needs.
    char buffer[32];
    const auto [end, ec] =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
    out.append(buffer, ec == std::errc() ? end : buffer);
}

// The format escapes backslash and newline, and in label values the double quote too.
void append_escaped(std::string& out, std::string_view value, bool quote) {
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"' && quote)
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_escaped(out_, help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void Exposition::labels(Labels labels, std::string_view le) {
    if (labels.size() == 0 && le.empty()) return;
    out_ += '{';
    bool first = true;
    for (const auto& [name, value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += name;
        out_ += "=\"";
        append_escaped(out_, value, true);
        out_ += '"';
    }
    if (!le.empty()) {
        if (!first) out_ += ',';
        out_ += "le=\"";
        out_ += le;
        out_ += '"';
    }
    out_ += '}';
}

void Exposition::sample(std::string_view name, Labels labels, double value) {
    out_ += name;
    this->labels(labels);
    out_ += ' ';
    append_number(out_, value);
    out_ += '\n';
}

void Exposition::histogram(std::string_view name, Labels labels,
                           const core::HistogramCounts& counts) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= core::kLatencyBounds.size(); ++i) {
        cumulative += counts.buckets[i];
        std::string le;
        if (i < core::kLatencyBounds.size())
            append_number(le, core::kLatencyBounds[i]);
        else
            le = "+Inf";
        out_ += name;
        out_ += "_bucket";
        this->labels(labels, le);
        out_ += ' ';
        append_number(out_, static_cast<double>(cumulative));
        out_ += '\n';
    }
    const std::string base(name);
    sample(base + "_sum", labels, static_cast<double>(counts.sum_ns) / 1e9);
    sample(base + "_count", labels, static_cast<double>(cumulative));
}

// --- MetricsRegistry ------------------------------------------------------------------

namespace {

std::string_view type_name(MetricsRegistry::Type type) {
    switch (type) {
        case MetricsRegistry::Type::counter: return "counter";
        case MetricsRegistry::Type::gauge: return "gauge";
        case MetricsRegistry::Type::histogram: return "histogram";
    }
    return "untyped";
}

}  // namespace

std::vector<Exposition::Label> MetricsRegistry::Samples::paired(Values values) const {
    if (values.size() != family_.labels.size())
        throw std::logic_error("metric " + family_.name + ": " + std::to_string(values.size()) +
                               " label values for " + std::to_string(family_.labels.size()) + " labels");
    std::vector<Exposition::Label> labels;
    labels.reserve(values.size());
    auto name = family_.labels.begin();
    for (std::string_view v : values) labels.emplace_back(*name++, v);
    return labels;
}

void MetricsRegistry::Samples::add(Values values, double value) {
    out_.sample(family_.name, paired(values), value);
}

void MetricsRegistry::Samples::add(Values values, const core::HistogramCounts& counts) {
    out_.histogram(family_.name, paired(values), counts);
}

void MetricsRegistry::add(Family family, Read read) {
    for (const auto& f : families_)
        if (f.name == family.name) throw std::logic_error("metric " + family.name + " declared twice");
    families_.push_back(std::move(family));
    reads_.push_back(std::move(read));
}

std::string MetricsRegistry::exposition() const {
    Exposition out;
    for (std::size_t i = 0; i < families_.size(); ++i) {
        const Family& f = families_[i];
        out.family(f.name, type_name(f.type), f.help);
        Samples samples(out, f);
        reads_[i](samples);
    }
    return out.text();
}

std::string MetricsRegistry::markdown() const {
    std::string out = "| metric | type | labels | what |\n|---|---|---|---|\n";
    for (const Family& f : families_) {
        std::string labels;
        for (const auto& l : f.labels) labels += (labels.empty() ? "`" : ", `") + l + "`";
        out += "| `" + f.name + "` | " + std::string(type_name(f.type)) + " | " + labels + " | " + f.help + " |\n";
    }
    return out;
}

// --- RequestMetrics -------------------------------------------------------------------

namespace {

// A series' key: the route (its index + 1; 0: none matched), the method when it is not the
// route's own (a request no route serves; HEAD served by a GET route), the status; the top
// bit marks a slot as taken.
constexpr std::uint32_t kTaken = 0x8000'0000u;
constexpr std::array<std::string_view, 8> kMethods{"other", "GET",   "HEAD",   "POST",
                                                   "PUT",   "PATCH", "DELETE", "OPTIONS"};

std::uint32_t method_code(std::string_view method) {
    for (std::uint32_t i = 1; i < kMethods.size(); ++i)
        if (kMethods[i] == method) return i;
    return 0;
}

// Relaxed increments by the one thread that writes a shard: a load and a store, which
// readers on other threads see whole (no locked instruction on the request path).
inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t by = 1) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

std::atomic<std::uint64_t> next_instance{1};

// The shard this thread last used, and whose it was.
struct CachedShard {
    std::uint64_t owner = 0;
    RequestMetrics::Shard* shard = nullptr;
};
thread_local CachedShard cached_shard;

}  // namespace

struct RequestMetrics::Shard {
    // Routes × statuses a route answers with stay far below this (statuses come from the
    // service's code, not from clients; an unmatched request has one of 8 methods): a full
    // table would leave new series uncounted, never overwrite one.
    static constexpr std::size_t kSlots = 1024;

    struct Slot {
        std::atomic<std::uint32_t> key{0};
        std::array<std::atomic<std::uint64_t>, core::kLatencyBounds.size() + 1> buckets{};
        std::atomic<std::uint64_t> sum_ns{0};
    };

    std::thread::id thread = std::this_thread::get_id();
    std::atomic<std::int64_t> in_flight{0};
    std::unique_ptr<Slot[]> slots = std::make_unique<Slot[]>(kSlots);

    Slot* slot(std::uint32_t key) {
        std::size_t i = (key * 0x9E3779B1u) >> 22;  // the top 10 bits: kSlots
        for (std::size_t probes = 0; probes < kSlots; ++probes, i = (i + 1) % kSlots) {
            const std::uint32_t k = slots[i].key.load(std::memory_order_relaxed);
            if (k == key) return &slots[i];
            if (k == 0) {
                // Only this thread writes here: no race for the slot. Readers see the key
                // after the zeroed counters (release).
                slots[i].key.store(key, std::memory_order_release);
                return &slots[i];
            }
        }
        return nullptr;
    }
};

RequestMetrics::RequestMetrics(const App& app) : app_(app), id_(next_instance.fetch_add(1)) {}

RequestMetrics::~RequestMetrics() = default;

RequestMetrics::Shard& RequestMetrics::shard() const {
    if (cached_shard.owner == id_) return *cached_shard.shard;
    std::lock_guard lock(mutex_);
    Shard* found = nullptr;
    for (const auto& s : shards_)
        if (s->thread == std::this_thread::get_id()) found = s.get();
    if (!found) found = shards_.emplace_back(std::make_unique<Shard>()).get();
    cached_shard = {id_, found};
    return *found;
}

std::optional<Response> RequestMetrics::before(RequestContext&) const {
    auto& in_flight = shard().in_flight;
    in_flight.store(in_flight.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return std::nullopt;
}

void RequestMetrics::after(RequestContext& ctx, Response& response) const {
    Shard& s = shard();
    s.in_flight.store(s.in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    const auto status = static_cast<std::uint32_t>(std::clamp(response.status, 0, 999));
    const std::uint32_t route = ctx.route ? static_cast<std::uint32_t>(ctx.route->index) + 1 : 0;
    const std::uint32_t method = ctx.route && ctx.route->method == ctx.request.method ? 0 : method_code(ctx.request.method);
    if (Shard::Slot* slot = s.slot(kTaken | route << 14 | method << 10 | status)) {
        const auto elapsed = ctx.elapsed();
        bump(slot->buckets[core::latency_bucket(elapsed)]);
        bump(slot->sum_ns, static_cast<std::uint64_t>(std::max<std::int64_t>(0, elapsed.count())));
    }
}

struct RequestMetrics::Snapshot {
    std::int64_t in_flight = 0;
    std::map<std::uint32_t, core::HistogramCounts> series;  // ordered: the same order every scrape
};

RequestMetrics::Snapshot RequestMetrics::snapshot() const {
    Snapshot snap;
    std::lock_guard lock(mutex_);
    for (const auto& s : shards_) {
        snap.in_flight += s->in_flight.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < Shard::kSlots; ++i) {
            const auto& slot = s->slots[i];
            const std::uint32_t key = slot.key.load(std::memory_order_acquire);
            if (key == 0) continue;
            auto& counts = snap.series[key];
            for (std::size_t b = 0; b < slot.buckets.size(); ++b) {
                const auto n = slot.buckets[b].load(std::memory_order_relaxed);
                counts.buckets[b] += n;
                counts.count += n;
            }
            counts.sum_ns += slot.sum_ns.load(std::memory_order_relaxed);
        }
    }
    return snap;
}

void RequestMetrics::add_to(MetricsRegistry& registry, std::shared_ptr<const RequestMetrics> metrics) {
    using Type = MetricsRegistry::Type;
    // A series' labels from its key: the route's template and method, or the method no route serves.
    struct Labels {
        std::string_view method, route;
        std::string status;
    };
    const auto labels_of = [](const RequestMetrics& m, std::uint32_t key) {
        const auto& routes = m.app_.routes();
        const std::uint32_t route = (key & ~kTaken) >> 14;
        const std::uint32_t method = (key >> 10) & 0x7;
        Labels l;
        l.status = std::to_string(key & 0x3ff);
        if (route > 0 && route <= routes.size()) {
            l.method = method != 0 ? kMethods[method] : std::string_view(routes[route - 1].info.method);
            l.route = routes[route - 1].info.path;
        } else {
            l.method = kMethods[method];
            l.route = "unmatched";
        }
        return l;
    };
    registry.add({"http_requests_in_flight", Type::gauge, "Requests being answered", {}},
                 [metrics](MetricsRegistry::Samples& out) {
                     // A scrape is itself in flight; a shard's count may read below zero for a
                     // moment while another thread's request ends: never shown as negative.
                     out.add({}, static_cast<double>(std::max<std::int64_t>(0, metrics->snapshot().in_flight)));
                 });
    registry.add({"http_requests_total", Type::counter, "Requests answered, by method, route template and status",
                  {"method", "route", "status"}},
                 [metrics, labels_of](MetricsRegistry::Samples& out) {
                     for (const auto& [key, counts] : metrics->snapshot().series) {
                         const auto l = labels_of(*metrics, key);
                         out.add({l.method, l.route, l.status}, static_cast<double>(counts.count));
                     }
                 });
    registry.add({"http_request_duration_seconds", Type::histogram,
                  "Time from a request's arrival to its answer, by method, route template and status",
                  {"method", "route", "status"}},
                 [metrics, labels_of](MetricsRegistry::Samples& out) {
                     for (const auto& [key, counts] : metrics->snapshot().series) {
                         const auto l = labels_of(*metrics, key);
                         out.add({l.method, l.route, l.status}, counts);
                     }
                 });
}

// --- process --------------------------------------------------------------------------

namespace {

// The fields of /proc/self/stat after the command's closing parenthesis (the name may
// hold spaces): state is field 3, so fields[i] is field i + 3.
std::vector<std::string> proc_stat_fields() {
    std::ifstream file("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(text.substr(close + 1));
    for (std::string f; rest >> f;) fields.push_back(f);
    return fields;
}

double boot_time_seconds() {
    std::ifstream file("/proc/stat");
    for (std::string line; std::getline(file, line);)
        if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
    return 0;
}

}  // namespace

void add_process_metrics(MetricsRegistry& registry) {
    using Type = MetricsRegistry::Type;
    using Samples = MetricsRegistry::Samples;
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    const auto statm = [page](int field) {  // 0: size, 1: resident, in pages
        double values[2] = {0, 0};
        std::ifstream file("/proc/self/statm");
        file >> values[0] >> values[1];
        return values[field] * page;
    };
    registry.add({"process_cpu_seconds_total", Type::counter, "User and system CPU time spent, in seconds", {}},
                 [](Samples& out) {
                     rusage usage{};
                     if (getrusage(RUSAGE_SELF, &usage) != 0) return;
                     const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
                     out.add({}, seconds(usage.ru_utime) + seconds(usage.ru_stime));
                 });
    registry.add({"process_virtual_memory_bytes", Type::gauge, "Virtual memory size, in bytes", {}},
                 [statm](Samples& out) { out.add({}, statm(0)); });
    registry.add({"process_resident_memory_bytes", Type::gauge, "Resident memory size, in bytes", {}},
                 [statm](Samples& out) { out.add({}, statm(1)); });
    registry.add({"process_open_fds", Type::gauge, "Open file descriptors", {}}, [](Samples& out) {
        DIR* dir = opendir("/proc/self/fd");
        if (!dir) return;
        double open = 0;
        while (const dirent* entry = readdir(dir))
            if (entry->d_name[0] != '.') ++open;
        closedir(dir);
        out.add({}, open - 1);  // not the one that listed them
    });
    registry.add({"process_max_fds", Type::gauge, "The limit of open file descriptors", {}}, [](Samples& out) {
        rlimit limit{};
        if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
        out.add({}, limit.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(limit.rlim_cur));
    });
    registry.add({"process_start_time_seconds", Type::gauge, "Start time of the process since the Unix epoch, in seconds",
                  {}},
                 [](Samples& out) {
                     const auto fields = proc_stat_fields();
                     if (fields.size() <= 19) return;  // field 22: start time, in clock ticks after boot
                     const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
                     out.add({}, boot_time_seconds() + std::stod(fields[19]) / ticks);
                 });
}

Route metrics_route(std::string path, std::shared_ptr<const MetricsRegistry> registry) {
    RouteInfo info;
    info.method = "GET";
    info.path = std::move(path);
    return Route{std::move(info), [registry](RequestContext&) -> core::Task<Response> {
                     Response response;
                     response.headers.set("content-type", "text/plain; version=0.0.4; charset=utf-8");
                     response.body = registry->exposition();
                     co_return response;
                 }};
}

}  // namespace http
