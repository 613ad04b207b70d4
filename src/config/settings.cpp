#include "config/settings.hpp"

#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace config {

namespace {

constexpr const char* kNames[] = {
    "DATABASE_URL", "HOST", "PORT", "THREADS", "APP_ENV", "SECRET_KEY", "ALGORITHM",
    "ACCESS_TOKEN_EXPIRE_MINUTES", "LOG_LEVEL", "LOG_FORMAT", "HEADER_TIMEOUT",
    "KEEPALIVE_TIMEOUT", "SHUTDOWN_TIMEOUT", "DB_POOL_SIZE", "DB_POOL_TIMEOUT", "DB_STATEMENT_TIMEOUT",
    "PASSWORD_HASH_THREADS", "PASSWORD_HASH_QUEUE", "PASSWORD_HASH_NICE", "LOGIN_MAX_FAILURES", "LOGIN_FAILURE_WINDOW",
    "LOGIN_MAX_FAILURES_PER_CLIENT", "DB_RESPONSE_TIMEOUT", "HEALTH_TIMEOUT",
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

const std::string* find(const Environment& env, std::string_view name) {
    auto it = env.find(name);
    return it == env.end() ? nullptr : &it->second;
}

long long integer(const Environment& env, const char* name, long long fallback, long long min, long long max) {
    const std::string* raw = find(env, name);
    if (!raw) return fallback;
    const std::string_view text = trim(*raw);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        throw SettingsError(name, "\"" + *raw + "\" is not a whole number from " + std::to_string(min) + " to " +
                                      std::to_string(max));
    return value;
}

// A number of seconds, fractions allowed ("0.5"), as milliseconds.
std::chrono::milliseconds seconds_as_ms(const Environment& env, const char* name, std::chrono::milliseconds fallback,
                                        double min) {
    const std::string* raw = find(env, name);
    if (!raw) return fallback;
    const std::string_view text = trim(*raw);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > 86400)
        throw SettingsError(name, "\"" + *raw + "\" is not a number of seconds from " +
                                      (min == 0 ? std::string("0") : std::string("0.001")) + " to 86400");
    return std::chrono::milliseconds(static_cast<std::int64_t>(value * 1000 + 0.5));
}

std::string generated_secret() {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw SettingsError("SECRET_KEY", "no key was given and none could be generated");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += hex[b >> 4];
        out += hex[b & 0xf];
    }
    return out;
}

}  // namespace

Environment read_env_file(const std::string& path) {
    Environment env;
    std::ifstream in(path);
    if (!in) return env;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string_view l = trim(line);
        if (l.empty() || l.front() == '#') continue;
        if (l.starts_with("export ")) l = trim(l.substr(7));
        const auto eq = l.find('=');
        if (eq == std::string_view::npos || eq == 0)
            throw SettingsError(path + " line " + std::to_string(number), "expected KEY=VALUE");
        std::string_view key = trim(l.substr(0, eq));
        std::string_view value = trim(l.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        else if (const auto hash = value.find(" #"); hash != std::string_view::npos)
            value = trim(value.substr(0, hash));
        env.insert_or_assign(std::string(key), std::string(value));
    }
    return env;
}

Environment merged_environment(const Environment& dotenv) {
    Environment env;
    for (const char* name : kNames) {
        if (const char* value = std::getenv(name))
            env.emplace(name, value);
        else if (auto it = dotenv.find(std::string_view(name)); it != dotenv.end())
            env.emplace(name, it->second);
    }
    return env;
}

Settings load_settings(const Environment& env) {
    Settings s;

    if (const std::string* url = find(env, "DATABASE_URL")) {
        auto parsed = parse_database_url(trim(*url));
        if (auto* problem = std::get_if<std::string>(&parsed)) throw SettingsError("DATABASE_URL", *problem);
        s.database_url = *url;
        s.database = std::get<DatabaseUrl>(std::move(parsed));
    }

    if (const std::string* host = find(env, "HOST")) {
        if (trim(*host).empty()) throw SettingsError("HOST", "must not be empty");
        s.host = std::string(trim(*host));
    }
    s.port = static_cast<std::uint16_t>(integer(env, "PORT", s.port, 0, 65535));
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    s.threads = static_cast<unsigned>(integer(env, "THREADS", cores, 1, 256));

    if (const std::string* app_env = find(env, "APP_ENV")) {
        if (*app_env == "development")
            s.app_env = AppEnv::development;
        else if (*app_env == "production")
            s.app_env = AppEnv::production;
        else
            throw SettingsError("APP_ENV", "\"" + *app_env + "\" is not development or production");
    }

    if (const std::string* alg = find(env, "ALGORITHM")) {
        if (*alg != "HS256" && *alg != "HS384" && *alg != "HS512")
            throw SettingsError("ALGORITHM", "\"" + *alg + "\" is not one of HS256, HS384, HS512");
        s.algorithm = *alg;
    }

    // The key's value is never echoed in a message.
    const std::string* key = find(env, "SECRET_KEY");
    if (key && !key->empty()) {
        if (s.app_env == AppEnv::production && key->size() < 32)
            throw SettingsError("SECRET_KEY", "must be at least 32 characters when APP_ENV=production");
        s.secret_key = *key;
    } else if (s.app_env == AppEnv::production) {
        throw SettingsError("SECRET_KEY", "is required when APP_ENV=production");
    } else {
        s.secret_key = generated_secret();
        s.secret_key_generated = true;
    }

    s.access_token_expire_minutes =
        static_cast<int>(integer(env, "ACCESS_TOKEN_EXPIRE_MINUTES", s.access_token_expire_minutes, 1, 525600));

    if (const std::string* level = find(env, "LOG_LEVEL")) {
        auto parsed = core::log::parse_level(*level);
        if (!parsed)
            throw SettingsError("LOG_LEVEL", "\"" + *level + "\" is not one of debug, info, warning, error, critical");
        s.log_level = *parsed;
    }
    if (const std::string* format = find(env, "LOG_FORMAT")) {
        if (*format == "json")
            s.log_format = core::log::Format::json;
        else if (*format == "text")
            s.log_format = core::log::Format::text;
        else
            throw SettingsError("LOG_FORMAT", "\"" + *format + "\" is not json or text");
    }

    s.header_timeout = std::chrono::seconds(integer(env, "HEADER_TIMEOUT", s.header_timeout.count(), 1, 3600));
    s.keepalive_timeout =
        std::chrono::seconds(integer(env, "KEEPALIVE_TIMEOUT", s.keepalive_timeout.count(), 1, 3600));
    s.shutdown_timeout =
        std::chrono::seconds(integer(env, "SHUTDOWN_TIMEOUT", s.shutdown_timeout.count(), 1, 3600));
    s.db_pool_size = static_cast<unsigned>(integer(env, "DB_POOL_SIZE", s.db_pool_size, 1, 100));
    s.db_pool_timeout = seconds_as_ms(env, "DB_POOL_TIMEOUT", s.db_pool_timeout, 0.001);
    s.db_statement_timeout = seconds_as_ms(env, "DB_STATEMENT_TIMEOUT", s.db_statement_timeout, 0);
    // The server enforces the statement timeout, unless it is the one that hangs: the
    // client waits as long and a margin more, then gives the connection up.
    const auto response_default = s.db_statement_timeout.count() == 0
                                      ? std::chrono::milliseconds(0)
                                      : s.db_statement_timeout + std::chrono::seconds(5);
    s.db_response_timeout = seconds_as_ms(env, "DB_RESPONSE_TIMEOUT", response_default, 0);
    s.health_timeout = seconds_as_ms(env, "HEALTH_TIMEOUT", s.health_timeout, 0.001);
    s.hash_threads = static_cast<unsigned>(integer(env, "PASSWORD_HASH_THREADS", std::max(1u, cores / 2), 1, 64));
    s.hash_queue = static_cast<unsigned>(integer(env, "PASSWORD_HASH_QUEUE", s.hash_queue, 1, 100000));
    s.hash_nice = static_cast<int>(integer(env, "PASSWORD_HASH_NICE", s.hash_nice, -20, 19));
    s.login_max_failures = static_cast<unsigned>(integer(env, "LOGIN_MAX_FAILURES", s.login_max_failures, 1, 1000000));
    s.login_max_failures_per_client = static_cast<unsigned>(
        integer(env, "LOGIN_MAX_FAILURES_PER_CLIENT", s.login_max_failures_per_client, 1, 1000000));
    s.login_failure_window =
        std::chrono::seconds(integer(env, "LOGIN_FAILURE_WINDOW", s.login_failure_window.count(), 1, 86400));
    return s;
}

}  // namespace config
