// items-api: serve the API, or manage the database schema.

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <sys/resource.h>
#include <termios.h>
#include <thread>
#include <unistd.h>

#include "api/accounts_cli.hpp"
#include "api/service.hpp"
#include "api/routes.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "core/run.hpp"
#include "db/migrations.hpp"
#include "http/probe.hpp"
#include "http/server.hpp"

namespace {

constexpr int kBadSetting = 2;

config::Settings load(const std::string& env_file) {
    return config::load_settings(config::merged_environment(config::read_env_file(env_file)));
}

// Applies the pending migrations, then ensures FIRST_SUPERUSER; each step said on `say`.
void prepare_database(db::Connector& connector, const config::Settings& settings,
                      const std::function<void(const std::string&)>& say) {
    boost::asio::io_context ioc;
    auto database = connector.open(ioc);
    db::Migrator migrator(*database, db::migrations_for(connector.dialect()));
    const auto applied = core::run_until_complete(ioc, migrator.up());
    for (const auto& name : applied) say("applied " + name);
    if (applied.empty()) say("database is up to date");
    std::string superuser;
    core::run_until_complete(ioc, api::ensure_first_superuser(*database, settings, superuser));
    if (!superuser.empty()) say(superuser);
}

// Each connection is an open file, and the soft limit is often 1,024 (systemd's default for
// a service, a shell's), which a thousand clients reach: raised to the hard limit, as Go's
// runtime does for its programs. Failing leaves it as it was (accepting then backs off).
void raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

int serve(const std::string& env_file) {
    const config::Settings settings = load(env_file);
    raise_open_file_limit();
    core::log::configure(settings.log_level, settings.log_format);
    if (settings.secret_key_generated)
        core::log::warn("SECRET_KEY is not set: generated a random one; tokens will not survive a restart");

    api::Service service(settings);
    if (service.connector().ephemeral()) {
        // An in-memory database starts empty every time: give it the schema at once.
        prepare_database(service.connector(), settings, [](const std::string& what) { core::log::info(what); });
    }

    http::ServerOptions options;
    options.host = settings.host;
    options.port = settings.port;
    options.threads = settings.threads;
    options.header_timeout = settings.header_timeout;
    options.keepalive_timeout = settings.keepalive_timeout;
    options.shutdown_timeout = settings.shutdown_timeout;
    options.thread_name = "items-loop-";
    http::Server server(service.app(), options, service.worker_init());

    // METRICS_PORT: /metrics on a server of its own (one thread, no database), stopped with
    // the API's. If it cannot listen, the service stops too: the setting names the port.
    std::unique_ptr<http::Server> metrics_server;
    std::thread metrics_thread;
    std::exception_ptr metrics_failed;
    if (http::App* metrics_app = service.metrics_app()) {
        http::ServerOptions metrics_options = options;
        metrics_options.port = settings.metrics_port;
        metrics_options.threads = 1;
        metrics_options.thread_name = "items-metrics-";
        metrics_options.listening_message = "metrics listening";
        metrics_server = std::make_unique<http::Server>(*metrics_app, metrics_options, http::WorkerInit{});
        metrics_thread = std::thread([&] {
            try {
                metrics_server->run();
            } catch (...) {
                metrics_failed = std::current_exception();
                server.stop();
            }
        });
    }
    // However the API's server ends (a bind error included), the metrics server ends with it.
    struct StopMetrics {
        http::Server* server;
        std::thread& thread;
        ~StopMetrics() {
            if (!server) return;
            server->stop();
            thread.join();
        }
    };
    {
        StopMetrics stop_metrics{metrics_server.get(), metrics_thread};
        server.run();
    }
    if (metrics_failed) {
        try {
            std::rethrow_exception(metrics_failed);
        } catch (const std::exception& e) {
            throw config::SettingsError("METRICS_PORT", e.what());
        }
    }
    return 0;
}

int migrate(const std::string& env_file, const std::string& action) {
    const config::Settings settings = load(env_file);
    core::log::configure(settings.log_level, settings.log_format);
    // The database alone: no routes, no hashing threads.
    const auto connector = api::open_database(settings);
    if (action == "up") {
        prepare_database(*connector, settings, [](const std::string& what) { std::cout << what << '\n'; });
        return 0;
    }
    boost::asio::io_context ioc;
    auto database = connector->open(ioc);
    db::Migrator migrator(*database, db::migrations_for(connector->dialect()));
    if (action == "down") {
        const auto reverted = core::run_until_complete(ioc, migrator.down());
        std::cout << (reverted.empty() ? "nothing to revert\n" : "reverted " + reverted + "\n");
    } else {
        for (const auto& s : core::run_until_complete(ioc, migrator.status()))
            std::cout << (s.applied ? "applied  " : "pending  ") << s.name
                      << (s.applied ? "  (" + s.applied_at + ")" : "") << '\n';
    }
    return 0;
}

// A password from standard input: at a terminal asked for twice, unshown; otherwise its
// first line. Never from the command line, where `ps` and shell history would keep it.
std::string read_password() {
    const auto line = [] {
        std::string text;
        if (!std::getline(std::cin, text)) throw std::runtime_error("no password on standard input");
        if (!text.empty() && text.back() == '\r') text.pop_back();
        return text;
    };
    if (!isatty(STDIN_FILENO)) return line();
    termios shown{};
    tcgetattr(STDIN_FILENO, &shown);
    termios hidden = shown;
    hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &hidden);
    struct Restore {
        termios mode;
        ~Restore() { tcsetattr(STDIN_FILENO, TCSANOW, &mode); }
    } restore{shown};
    std::cerr << "Password: " << std::flush;
    const std::string password = line();
    std::cerr << "\nRepeat it: " << std::flush;
    const std::string again = line();
    std::cerr << '\n';
    if (password != again) throw std::runtime_error("the passwords differ");
    return password;
}

int create_user(const std::string& env_file, const std::string& email, bool superuser) {
    const config::Settings settings = load(env_file);
    core::log::configure(settings.log_level, settings.log_format);
    const std::string password = read_password();
    const auto connector = api::open_database(settings);
    boost::asio::io_context ioc;
    auto database = connector->open(ioc);
    const auto user = core::run_until_complete(ioc, api::create_account(*database, email, password, superuser));
    std::cout << "created " << (superuser ? "superuser " : "user ") << user.email << " (id " << user.id.value << ")\n";
    return 0;
}

// Asks the service that these settings describe (HOST, PORT) for GET /health: exit 0 on 200
// (serving, database reachable), 1 otherwise, with one line saying why. A container's
// HEALTHCHECK, without curl in the image.
int healthcheck(const std::string& env_file) {
    const config::Settings settings = load(env_file);
    if (settings.port == 0)
        throw config::SettingsError("PORT", "is 0 (any free port): healthcheck needs the port the service listens on");
    const auto r = http::probe(settings.host, settings.port, "/health",
                               settings.health_timeout + std::chrono::seconds(1), "items-api healthcheck");
    if (r.status == 200) {
        std::cout << "healthy\n";
        return 0;
    }
    std::cerr << "items-api: unhealthy: "
              << (r.status != 0 ? "GET /health answered " + std::to_string(r.status) + " " + r.body : r.error)
              << '\n';
    return 1;
}

// The OpenAPI document, as GET /openapi.json serves it: no database, no server.
int print_openapi(const std::string& env_file) {
    const config::Settings settings = load(env_file);
    std::cout << boost::json::serialize(api::openapi_document(settings, api::all_routes())) << '\n';
    return 0;
}

// Every metric family GET /metrics serves, as docs/metrics.md has it: from the registry a
// service with these settings declares (on a throwaway database: no file is touched).
int print_metrics(const std::string& env_file) {
    config::Settings settings = load(env_file);
    settings.metrics_enabled = true;
    settings.database_url = "sqlite:///:memory:";
    const api::Service service(settings);
    std::cout << "# Metrics\n\n<!-- Generated by `items-api metrics` from the metric families the service "
                 "declares (src/api/service.cpp, src/http/metrics.cpp); a test fails when this file differs. -->\n\n"
                 "What `GET /metrics` serves, in Prometheus's text format (0.0.4): on `PORT` with the API, or on "
                 "`METRICS_PORT` alone; none with `METRICS_ENABLED=false`. Durations are histograms in seconds, "
                 "with buckets from 0.5 ms to 10 s. Request metrics are labelled by the route's template "
                 "(`/items/{item_id}`), never by the path a client sent; a request no route serves has "
                 "`route=\"unmatched\"` and its method if it is a standard one, else `method=\"other\"`.\n\n"
              << service.metrics().markdown();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"items-api: the Users and Items REST API (a compiled drop-in for the FastAPI tutorial service)"};
    cli.footer(config::settings_help());
    cli.require_subcommand(1);
    std::string env_file = ".env";
    cli.add_option("--env-file", env_file, "the .env file to read settings from")->capture_default_str();

    auto* serve_cmd = cli.add_subcommand("serve", "Serve the HTTP API until SIGTERM or SIGINT (then drain and exit 0)");
    auto* migrate_cmd = cli.add_subcommand("migrate", "Manage the database schema");
    auto* openapi_cmd =
        cli.add_subcommand("openapi", "Print the OpenAPI 3.1 document (what GET /openapi.json serves) and exit");
    auto* settings_cmd =
        cli.add_subcommand("settings", "Print every setting, its default and meaning, as Markdown (docs/configuration.md)");
    auto* metrics_cmd =
        cli.add_subcommand("metrics", "Print every metric family GET /metrics serves, as Markdown (docs/metrics.md)");
    auto* healthcheck_cmd = cli.add_subcommand(
        "healthcheck", "Ask the running service (HOST, PORT) for GET /health: exit 0 if healthy, 1 if not");
    auto* users_cmd = cli.add_subcommand("users", "Manage accounts");
    users_cmd->require_subcommand(1);
    auto* users_create_cmd = users_cmd->add_subcommand(
        "create", "Create an account; its password is read from standard input (asked for, unshown, at a terminal)");
    std::string new_email;
    bool new_superuser = false;
    users_create_cmd->add_option("--email", new_email, "the account's e-mail address")->required();
    users_create_cmd->add_flag("--superuser", new_superuser, "a superuser (the admin routes of /users/)");
    std::string action = "up";
    migrate_cmd->add_option("action", action, "up: apply pending migrations; down: revert the newest; status: list")
        ->check(CLI::IsMember({"up", "down", "status"}))
        ->capture_default_str();

    CLI11_PARSE(cli, argc, argv);

    try {
        if (serve_cmd->parsed()) return serve(env_file);
        if (migrate_cmd->parsed()) return migrate(env_file, action);
        if (openapi_cmd->parsed()) return print_openapi(env_file);
        if (metrics_cmd->parsed()) return print_metrics(env_file);
        if (settings_cmd->parsed()) {
            std::cout << config::settings_markdown();
            return 0;
        }
        if (healthcheck_cmd->parsed()) return healthcheck(env_file);
        if (users_create_cmd->parsed()) return create_user(env_file, new_email, new_superuser);
    } catch (const config::SettingsError& e) {
        std::fprintf(stderr, "items-api: %s\n", e.what());
        return kBadSetting;
    } catch (const db::MigrationError& e) {
        std::fprintf(stderr, "items-api: migration refused: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "items-api: %s\n", e.what());
        return 1;
    }
    return 0;
}
