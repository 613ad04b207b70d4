#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <memory>

namespace core::log {

namespace {

struct State {
    std::shared_ptr<spdlog::logger> logger;
    Format format = Format::text;
    Level level = Level::info;
};

State& state() {
    static State s = [] {
        State st;
        st.logger = std::make_shared<spdlog::logger>(
            "log", std::make_shared<spdlog::sinks::stdout_sink_mt>());
        st.logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v", spdlog::pattern_time_type::utc);
        return st;
    }();
    return s;
}

spdlog::level::level_enum to_spdlog(Level l) {
    switch (l) {
        case Level::trace: return spdlog::level::trace;
        case Level::debug: return spdlog::level::debug;
        case Level::info: return spdlog::level::info;
        case Level::warning: return spdlog::level::warn;
        case Level::error: return spdlog::level::err;
        case Level::critical: return spdlog::level::critical;
        case Level::off: break;
    }
    return spdlog::level::off;
}

void append_number(std::string& out, std::int64_t v) {
    std::array<char, 24> buf;
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), end);
}

void append_number(std::string& out, double v) {
    std::array<char, 32> buf;
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, 3);
    out.append(buf.data(), end);
}

void append_json_value(std::string& out, const Field::Value& value) {
    std::visit(
        [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string_view>) {
                out += '"';
                append_json_escaped(out, v);
                out += '"';
            } else if constexpr (std::is_same_v<V, bool>) {
                out += v ? "true" : "false";
            } else {
                append_number(out, v);
            }
        },
        value);
}

void append_text_value(std::string& out, const Field::Value& value) {
    std::visit(
        [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string_view>) {
                const bool quote = v.empty() || v.find_first_of(" \"=") != std::string_view::npos;
                if (quote) out += '"';
                append_json_escaped(out, v);
                if (quote) out += '"';
            } else if constexpr (std::is_same_v<V, bool>) {
                out += v ? "true" : "false";
            } else {
                append_number(out, v);
            }
        },
        value);
}

}  // namespace

void configure(Level level, Format format) {
    auto& s = state();
    s.level = level;
    s.format = format;
    s.logger->set_level(to_spdlog(level));
    if (format == Format::json)
        s.logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v)",
                              spdlog::pattern_time_type::utc);
    else
        s.logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v", spdlog::pattern_time_type::utc);
}

bool enabled(Level level) { return level != Level::off && level >= state().level; }

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    auto& s = state();
    std::string line;
    line.reserve(128);
    if (s.format == Format::json) {
        line += "\"msg\":\"";
        append_json_escaped(line, message);
        line += '"';
        for (const auto& f : fields) {
            line += ",\"";
            append_json_escaped(line, f.key);
            line += "\":";
            append_json_value(line, f.value);
        }
        line += '}';
    } else {
        append_json_escaped(line, message);
        for (const auto& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            append_text_value(line, f.value);
        }
    }
    s.logger->log(to_spdlog(level), spdlog::string_view_t(line.data(), line.size()));
}

std::optional<Level> parse_level(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "trace") return Level::trace;
    if (lower == "debug") return Level::debug;
    if (lower == "info") return Level::info;
    if (lower == "warning" || lower == "warn") return Level::warning;
    if (lower == "error") return Level::error;
    if (lower == "critical") return Level::critical;
    if (lower == "off") return Level::off;
    return std::nullopt;
}

}  // namespace core::log
