#include "config/settings.hpp"

#include "config/cpus.hpp"

#include <openssl/rand.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <type_traits>

namespace config {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string quoted(std::string_view raw) { return "\"" + std::string(raw) + "\""; }

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

// One setting: what is shown of it, and how its value (nullptr: unset) goes into Settings.
// Settings read earlier are already in `s` (a default may depend on them).
struct Declared {
    SettingInfo info;
    std::function<void(Settings& s, const std::string* raw)> apply;
};

template <class T>
void assign(T& member, long long value) {
    if constexpr (std::is_same_v<T, std::chrono::seconds>)
        member = std::chrono::seconds(value);
    else
        member = static_cast<T>(value);
}

// A whole number in min..max. `fallback` gives the default when it depends on the machine
// or on other settings; otherwise `default_value` is the default.
template <class T>
Declared integer(const char* name, T Settings::*member, long long min, long long max, long long default_value,
               std::string help, std::string default_text = "",
               std::function<long long(const Settings&)> fallback = {}) {
    const std::string type = "whole number from " + std::to_string(min) + " to " + std::to_string(max);
    if (default_text.empty()) default_text = std::to_string(default_value);
    return {{name, type, default_text, std::move(help)},
            [=](Settings& s, const std::string* raw) {
                long long value = fallback ? fallback(s) : default_value;
                if (raw) {
                    const std::string_view text = trim(*raw);
                    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
                    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
                        throw SettingsError(name, quoted(*raw) + " is not a " + type);
                }
                assign(s.*member, value);
            }};
}

// A number of seconds, fractions allowed ("0.5"), kept as milliseconds; `positive`: 0 is
// not allowed (the least is a millisecond).
Declared seconds(const char* name, std::chrono::milliseconds Settings::*member, bool positive, double default_value,
                 std::string help, std::string default_text = "",
                 std::function<std::chrono::milliseconds(const Settings&)> fallback = {}) {
    const std::string type = std::string("number of seconds from ") + (positive ? "0.001" : "0") + " to 86400";
    if (default_text.empty()) {
        default_text = std::to_string(default_value);
        default_text.erase(default_text.find_last_not_of('0') + 1);
        if (default_text.back() == '.') default_text.pop_back();
    }
    return {{name, type, default_text, std::move(help)},
            [=](Settings& s, const std::string* raw) {
                if (!raw) {
                    s.*member = fallback ? fallback(s)
                                         : std::chrono::milliseconds(static_cast<std::int64_t>(default_value * 1000));
                    return;
                }
                const std::string_view text = trim(*raw);
                double value = 0;
                auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
                if (ec != std::errc{} || end != text.data() + text.size() || value < (positive ? 0.001 : 0) ||
                    value > 86400)
                    throw SettingsError(name, quoted(*raw) + " is not a " + type);
                s.*member = std::chrono::milliseconds(static_cast<std::int64_t>(value * 1000 + 0.5));
            }};
}

// One of a fixed set of words.
template <class T>
Declared choice(const char* name, T Settings::*member, std::vector<std::pair<std::string, T>> options,
                std::string default_text, std::string help) {
    std::string type = "one of";
    for (std::size_t i = 0; i < options.size(); ++i) type += (i ? ", " : " ") + options[i].first;
    return {{name, type, default_text, std::move(help)},
            [=](Settings& s, const std::string* raw) {
                const std::string& word = raw ? *raw : default_text;
                for (const auto& [text, value] : options) {
                    if (text == word) {
                        s.*member = value;
                        return;
                    }
                }
                throw SettingsError(name, quoted(word) + " is not " + type);
            }};
}

// true or false (also 1 or 0).
Declared flag(const char* name, bool Settings::*member, std::string default_text, std::string help) {
    return choice(name, member,
                  std::vector<std::pair<std::string, bool>>{{"true", true}, {"false", false}, {"1", true}, {"0", false}},
                  std::move(default_text), std::move(help));
}

// Text, taken as it is (surrounding spaces trimmed); `check` says what is wrong with it.
Declared text(const char* name, std::string Settings::*member, std::string default_value, std::string help,
              std::string type = "text", std::function<std::string(const std::string&)> check = {}) {
    return {{name, type, default_value, std::move(help)},
            [=](Settings& s, const std::string* raw) {
                std::string value = raw ? std::string(trim(*raw)) : default_value;
                if (check) {
                    if (const std::string problem = check(value); !problem.empty())
                        throw SettingsError(name, quoted(value) + " " + problem);
                }
                s.*member = std::move(value);
            }};
}

// A path the service answers at, or empty (off).
std::string url_path_check(const std::string& v) {
    if (v.empty()) return "";
    if (v.front() != '/') return "is not a path (/...) or empty";
    if (v.back() == '/') return "ends with /";
    if (v.find_first_of("?# \t") != std::string::npos) return "is not a plain path (no ?, #, spaces)";
    return "";
}


// A secret setting: also read from the file NAME_FILE names.
Declared secret(Declared d) {
    d.info.from_file = true;
    return d;
}

// The value of a secret setting given as NAME_FILE: the file's content without the line
// ends after it (`echo key > file` adds one). The content is never shown; the path is.
std::string read_secret_file(const std::string& setting, const std::string& path) {
    const std::string name = setting + "_FILE";
    if (path.empty()) throw SettingsError(name, "is empty: it names the file that holds " + setting);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SettingsError(name, "cannot read " + quoted(path) + ": " + std::strerror(errno));
    std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw SettingsError(name, "cannot read " + quoted(path));
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    return value;
}

// The declarations, in the order they are read and documented.
const std::vector<Declared>& declarations() {
    using std::chrono::milliseconds;
    static const std::vector<Declared> all = {
        secret({{"DATABASE_URL", "sqlite:///… or postgresql://…", "sqlite:///./data/app.db",
          "where the data lives (SQLAlchemy's URL forms); or DATABASE_URL_FILE: a file that holds it"},
         [](Settings& s, const std::string* raw) {
             s.database_url = raw ? std::string(trim(*raw)) : "sqlite:///./data/app.db";
             if (s.database_url.empty()) throw SettingsError("DATABASE_URL", "must not be empty");
         }}),
        {{"HOST", "an address", "127.0.0.1", "address to listen on (0.0.0.0: every interface)"},
         [](Settings& s, const std::string* raw) {
             if (raw && trim(*raw).empty()) throw SettingsError("HOST", "must not be empty");
             s.host = raw ? std::string(trim(*raw)) : "127.0.0.1";
         }},
        integer("PORT", &Settings::port, 0, 65535, 8000, "port to listen on; 0 picks a free one"),
        integer("THREADS", &Settings::threads, 1, 256, 0,
                "event-loop threads, each with its own acceptor (SO_REUSEPORT) and database connections; by "
                "default the CPUs the process may use: its affinity mask, lowered by its cgroup's CPU quota",
                "the CPUs it may use (affinity, cgroup quota)", [](const Settings&) { return usable_cpus(); }),
        choice("APP_ENV", &Settings::app_env,
               {{"development", AppEnv::development}, {"production", AppEnv::production}}, "development",
               "production requires a real SECRET_KEY"),
        secret({{"SECRET_KEY", "text (never shown)", "generated in development",
          "key that signs access tokens; 32 characters or more in production; or SECRET_KEY_FILE: a file that holds it"},
         [](Settings& s, const std::string* key) {
             // The key's value is never echoed in a message.
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
         }}),
        choice("ALGORITHM", &Settings::algorithm,
               std::vector<std::pair<std::string, std::string>>{
                   {"HS256", "HS256"}, {"HS384", "HS384"}, {"HS512", "HS512"}},
               "HS256", "token signature algorithm"),
        integer("ACCESS_TOKEN_EXPIRE_MINUTES", &Settings::access_token_expire_minutes, 1, 525600, 30,
              "access token lifetime in minutes"),
        integer("REFRESH_TOKEN_EXPIRE_DAYS", &Settings::refresh_token_expire_days, 1, 3650, 30,
                "refresh token lifetime in days (each use rotates it: its successor lives as long again)"),
        text("JWT_AUDIENCE", &Settings::jwt_audience, "",
             "the audience (aud) of this service's tokens, which ours carry: a token naming audiences must name it "
             "(one without aud, as the original's, is accepted); empty: a token naming any audience is refused",
             "text, or empty"),
        text("FIRST_SUPERUSER", &Settings::first_superuser, "",
             "e-mail of the superuser `migrate up` ensures: created with FIRST_SUPERUSER_PASSWORD if no account has "
             "it, else made a superuser (its password left as it is)",
             "an e-mail address, or empty"),
        secret({{"FIRST_SUPERUSER_PASSWORD", "text (never shown)", "",
                 "FIRST_SUPERUSER's password (8 to 128 characters), needed with it; or "
                 "FIRST_SUPERUSER_PASSWORD_FILE: a file that holds it"},
                [](Settings& s, const std::string* raw) {
                    // Its length is checked where it is used (api/accounts_cli.cpp), as a password.
                    s.first_superuser_password = raw ? *raw : "";
                    if (!s.first_superuser.empty() && s.first_superuser_password.empty())
                        throw SettingsError("FIRST_SUPERUSER_PASSWORD", "is required when FIRST_SUPERUSER is set");
                }}),
        {{"LOG_LEVEL", "one of debug, info, warning, error, critical (any case)", "info", "least severe level logged"},
         [](Settings& s, const std::string* raw) {
             auto parsed = core::log::parse_level(raw ? *raw : "info");
             if (!parsed)
                 throw SettingsError("LOG_LEVEL",
                                     quoted(*raw) + " is not one of debug, info, warning, error, critical");
             s.log_level = *parsed;
         }},
        choice("LOG_FORMAT", &Settings::log_format,
               {{"json", core::log::Format::json}, {"text", core::log::Format::text}}, "json",
               "json: one object per line"),
        integer("HEADER_TIMEOUT", &Settings::header_timeout, 1, 3600, 10,
              "seconds to send a request's headers, again its body, and to take the answer"),
        integer("KEEPALIVE_TIMEOUT", &Settings::keepalive_timeout, 1, 3600, 5,
              "seconds an idle keep-alive connection is kept"),
        integer("SHUTDOWN_TIMEOUT", &Settings::shutdown_timeout, 1, 3600, 10,
              "seconds in-flight requests get after SIGTERM/SIGINT"),
        integer("DB_POOL_SIZE", &Settings::db_pool_size, 1, 100, 4,
                "PostgreSQL connections per thread: a process opens THREADS x DB_POOL_SIZE, every replica as many; "
                "single statements of many requests share a connection's pipeline, a transaction takes one"),
        seconds("DB_POOL_TIMEOUT", &Settings::db_pool_timeout, true, 5,
                "seconds a request waits for a usable connection (then 503)"),
        seconds("DB_STATEMENT_TIMEOUT", &Settings::db_statement_timeout, false, 30,
                "seconds a statement may run before it is cancelled (503); 0: no limit"),
        // The server enforces the statement timeout, unless it is the one that hangs: the
        // client waits as long and a margin more, then gives the connection up.
        seconds("DB_RESPONSE_TIMEOUT", &Settings::db_response_timeout, false, 0,
                "seconds the service waits for PostgreSQL's answer before giving the connection up; 0: no limit",
                "DB_STATEMENT_TIMEOUT + 5 (35)",
                [](const Settings& s) {
                    return s.db_statement_timeout.count() == 0 ? milliseconds(0)
                                                               : s.db_statement_timeout + std::chrono::seconds(5);
                }),
        // PgBouncer's transaction pooling hands each transaction to any server connection:
        // a statement prepared on one is unknown on the next, and a session setting sticks
        // to whichever connection it was sent on (PgBouncer 1.18 refuses `options` at all).
        flag("DB_PREPARED_STATEMENTS", &Settings::db_prepared_statements, "true",
             "false: unnamed statements, one Sync in flight per connection, and the statement timeout "
             "enforced by the service, for PgBouncer in transaction pooling mode"),
        seconds("HEALTH_TIMEOUT", &Settings::health_timeout, true, 2,
                "seconds /health waits for the database before answering 503"),
        integer("PASSWORD_HASH_THREADS", &Settings::hash_threads, 1, 64, 0, "threads that hash and verify passwords",
              "half those CPUs (at least 1)", [](const Settings&) { return std::max(1u, usable_cpus() / 2); }),
        integer("PASSWORD_HASH_QUEUE", &Settings::hash_queue, 1, 100000, 64,
              "hashing jobs allowed to wait (then 503)"),
        integer("PASSWORD_HASH_NICE", &Settings::hash_nice, -20, 19, 0,
                "the hashing threads' niceness: below 0 keeps logins at their rate under read load, and needs "
                "CAP_SYS_NICE (without it, a warning and the default priority)"),
        integer("LOGIN_MAX_FAILURES", &Settings::login_max_failures, 1, 1000000, 5,
              "failed logins per account within the window (then 429)"),
        integer("LOGIN_MAX_FAILURES_PER_CLIENT", &Settings::login_max_failures_per_client, 1, 1000000, 50,
              "failed logins per client address within the window (then 429)"),
        integer("LOGIN_FAILURE_WINDOW", &Settings::login_failure_window, 1, 86400, 60,
              "seconds a failed login counts"),
        text("FORWARDED_ALLOW_IPS", &Settings::forwarded_allow_ips, "127.0.0.1",
             "comma-separated addresses or networks of the proxies whose X-Forwarded-For/-Proto are believed; *: any",
             "addresses/networks, or *"),
        {{"RATE_LIMIT_AUTH", "N/second|minute|hour|day, or off", "10/minute in production, off in development",
          "requests per client to /auth/register, /auth/token and /auth/refresh, besides the failed-login limits"},
         [](Settings& s, const std::string* raw) {
             s.rate_limit_auth = raw ? std::string(trim(*raw))
                                     : s.app_env == AppEnv::production ? "10/minute" : "off";
         }},
        text("RATE_LIMIT_DEFAULT", &Settings::rate_limit_default, "off",
             "requests per client to every other path", "N/second|minute|hour|day, or off"),
        text("CORS_ORIGINS", &Settings::cors_origins, "",
             "origins (scheme://host[:port]) a browser may call the API from, comma-separated, or *; empty: CORS off",
             "origins, or *, or empty"),
        flag("CORS_ALLOW_CREDENTIALS", &Settings::cors_allow_credentials, "false",
             "whether those origins may send credentials (cookies, Authorization with credentials: 'include')"),
        integer("CORS_MAX_AGE", &Settings::cors_max_age, 0, 86400, 600, "seconds a browser may cache a preflight answer"),
        text("CORS_ALLOW_METHODS", &Settings::cors_allow_methods, "GET, POST, PUT, PATCH, DELETE",
             "methods a preflight allows, comma-separated, or *", "methods, or *"),
        text("CORS_ALLOW_HEADERS", &Settings::cors_allow_headers, "Authorization, Content-Type, X-Request-ID",
             "request headers a preflight allows, comma-separated, or *", "header names, or *"),
        text("CORS_EXPOSE_HEADERS", &Settings::cors_expose_headers,
             "X-Request-ID, Retry-After, RateLimit, RateLimit-Policy, Link, X-Total-Count",
             "response headers the calling page may read (the paging headers among them)",
             "header names"),
        flag("METRICS_ENABLED", &Settings::metrics_enabled, "true", "whether Prometheus metrics are served at /metrics"),
        integer("METRICS_PORT", &Settings::metrics_port, 0, 65535, 0,
              "a port of its own for /metrics (on HOST), so that it is not public; 0: on PORT with the API"),
        text("OPENAPI_URL", &Settings::openapi_url, "/openapi.json",
             "where the OpenAPI document is served; empty: not served", "a path, or empty", url_path_check),
        text("DOCS_URL", &Settings::docs_url, "/docs",
             "where Swagger UI is served (and its files below it); empty, or OPENAPI_URL empty: not served",
             "a path, or empty", url_path_check),
        text("REDOC_URL", &Settings::redoc_url, "/redoc",
             "where ReDoc is served (and its files below it); empty, or OPENAPI_URL empty: not served",
             "a path, or empty", url_path_check),
        text("API_TITLE", &Settings::api_title, "Production API", "the OpenAPI document's title"),
        text("API_VERSION", &Settings::api_version, "1.0.0", "the OpenAPI document's version"),
        text("API_DESCRIPTION", &Settings::api_description, "Users and Items REST API — FastAPI 2026 tutorial",
             "the OpenAPI document's description"),
    };
    return all;
}

}  // namespace

std::vector<SettingInfo> declared_settings() {
    std::vector<SettingInfo> out;
    for (const auto& d : declarations()) out.push_back(d.info);
    return out;
}

std::string settings_help() {
    std::string out = "\nSettings come from the environment, then from the .env file (the environment wins):\n";
    for (const auto& d : declarations()) {
        out += "  " + d.info.name + std::string(d.info.name.size() < 30 ? 30 - d.info.name.size() : 1, ' ') +
               d.info.help + "\n" + std::string(32, ' ') + "default: " + d.info.default_text + "; " + d.info.type +
               "\n";
    }
    out += "`items-api settings` prints them as docs/configuration.md shows them.";
    return out;
}

std::string settings_markdown() {
    std::string out =
        "# Configuration\n\n"
        "<!-- Generated by `items-api settings` from the settings' declarations "
        "(src/config/settings.cpp); a test fails when this file differs. -->\n\n"
        "Settings come from environment variables and from a `.env` file in the working directory "
        "(`--env-file PATH` names another); the environment wins. Each is read and checked once, at "
        "start-up: a bad value stops the program with one line naming the setting, and exit code 2:\n\n"
        "```\nitems-api: invalid setting PORT: \"eighty\" is not a whole number from 0 to 65535\n```\n\n"
        "A secret (marked *file* below) may instead come from a file named by `NAME_FILE` "
        "(`SECRET_KEY_FILE`, `DATABASE_URL_FILE`): the file's content, its trailing line end dropped. "
        "That is the convention of the official PostgreSQL image, and what Docker and Kubernetes secrets "
        "mount (`/run/secrets/…`), so no secret has to sit in an environment, a Compose file or an image. "
        "Setting both forms, or naming a file that cannot be read, stops the program with the setting "
        "named (never the secret).\n\n"
        "| setting | default | value | meaning |\n|---|---|---|---|\n";
    const auto cell = [](std::string text) {
        std::string escaped;
        for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
        return escaped.empty() ? std::string("(empty)") : escaped;
    };
    for (const auto& d : declarations()) {
        out += "| `" + d.info.name + "`" + (d.info.from_file ? " (*file*)" : "") + " | " + cell(d.info.default_text) +
               " | " + cell(d.info.type) + " | " + cell(d.info.help) + " |\n";
    }
    return out;
}

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
    for (const auto& d : declarations()) {
        const std::string& name = d.info.name;
        for (const std::string& key : {name, d.info.from_file ? name + "_FILE" : std::string()}) {
            if (key.empty()) continue;
            if (const char* value = std::getenv(key.c_str()))
                env.emplace(key, value);
            else if (auto it = dotenv.find(key); it != dotenv.end())
                env.emplace(key, it->second);
        }
    }
    return env;
}

Settings load_settings(const Environment& env) {
    Settings s;
    for (const auto& d : declarations()) {
        const auto it = env.find(d.info.name);
        const auto file = d.info.from_file ? env.find(d.info.name + "_FILE") : env.end();
        if (file == env.end()) {
            d.apply(s, it == env.end() ? nullptr : &it->second);
            continue;
        }
        if (it != env.end())
            throw SettingsError(d.info.name, "is set both directly and by " + d.info.name + "_FILE: set one of them");
        const std::string value = read_secret_file(d.info.name, file->second);
        d.apply(s, &value);
    }
    return s;
}

}  // namespace config
