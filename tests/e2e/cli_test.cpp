// The command line: subcommands, help, and one clear line for a bad setting.

#include <gtest/gtest.h>
#include <signal.h>

#include "config/cpus.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using e2e::Process;

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

Outcome run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    const std::string folder = e2e::temp_folder();
    env.emplace("DATABASE_URL", "sqlite:///" + folder + "/app.db");
    args.insert(args.begin(), ITEMS_API_BINARY);
    Process p(args, env, folder);
    const auto code = p.wait(30s);
    return {code.value_or(-1), p.output(), p.errors()};
}

TEST(Cli, HelpExplainsTheSubcommands) {
    const auto r = run({"--help"});
    EXPECT_EQ(r.code, 0);
    for (const char* word : {"serve", "migrate", "DATABASE_URL", "SECRET_KEY"})
        EXPECT_NE(r.out.find(word), std::string::npos) << word;
    EXPECT_EQ(run({"migrate", "--help"}).code, 0);
}

TEST(Cli, BadSettingIsOneLineNamingItAndExitCode2) {
    for (const auto& [name, value] : std::map<std::string, std::string>{
             {"PORT", "eighty"}, {"LOG_FORMAT", "xml"}, {"THREADS", "-1"}, {"DATABASE_URL", "mysql://x/y"}}) {
        const auto r = run({"serve"}, {{name, value}});
        EXPECT_EQ(r.code, 2) << name;
        EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST(Cli, MalformedPostgresUrlNamesDatabaseUrl) {
    const auto r = run({"serve"}, {{"DATABASE_URL", "postgresql://db:notaport/app?bogus=1"}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("DATABASE_URL"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, UnwritableDatabasePathNamesDatabaseUrl) {
    const auto r = run({"migrate", "up"}, {{"DATABASE_URL", "sqlite:////proc/no/such/app.db"}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("DATABASE_URL"), std::string::npos) << r.err;
}

// For client generators and CI: the document alone, without a database or a server
// (here a database path that cannot even be opened).
TEST(Cli, OpenapiPrintsTheDocumentWithoutADatabase) {
    const auto r = run({"openapi"}, {{"DATABASE_URL", "sqlite:////proc/no/such/app.db"}});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind(R"({"openapi":"3.1.0",)", 0), 0u) << r.out.substr(0, 200);
    EXPECT_NE(r.out.find(R"("operationId":"read_item_items__item_id__get")"), std::string::npos);
}

TEST(Cli, MigrateUpStatusDown) {
    const std::string folder = e2e::temp_folder();
    const std::map<std::string, std::string> env{{"DATABASE_URL", "sqlite:///data/app.db"}};
    auto step = [&](std::string action) {
        Process p({ITEMS_API_BINARY, "migrate", action}, env, folder);
        const auto code = p.wait(30s);
        return Outcome{code.value_or(-1), p.output(), p.errors()};
    };
    auto up = step("up");
    EXPECT_EQ(up.code, 0) << up.err;
    EXPECT_NE(up.out.find("applied 0001_create_users_and_items"), std::string::npos) << up.out;
    EXPECT_NE(step("up").out.find("up to date"), std::string::npos);
    auto status = step("status");
    EXPECT_NE(status.out.find("applied  0001_create_users_and_items"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("applied  0005_refresh_tokens"), std::string::npos) << status.out;
    auto down = step("down");
    EXPECT_NE(down.out.find("reverted 0005_refresh_tokens"), std::string::npos) << down.out;
    auto after = step("status");
    EXPECT_NE(after.out.find("applied  0001_create_users_and_items"), std::string::npos) << after.out;
    EXPECT_NE(after.out.find("pending  0005_refresh_tokens"), std::string::npos) << after.out;
    EXPECT_NE(step("down").out.find("reverted 0004_accounts"), std::string::npos);
}

// The first superuser from the settings at `migrate up`, more from `users create` (the
// password from standard input); both then use the admin routes.
TEST(Cli, MigrateUpMakesTheFirstSuperuserAndUsersCreateMakesMore) {
    const std::string folder = e2e::temp_folder();
    std::map<std::string, std::string> env{{"DATABASE_URL", "sqlite:///" + folder + "/app.db"},
                                           {"FIRST_SUPERUSER", "Admin@EXAMPLE.com"},
                                           {"FIRST_SUPERUSER_PASSWORD", "first-admin-password"}};
    const auto command = [&](std::vector<std::string> args, std::string input = {}) {
        // Through a shell, for its standard input.
        std::string line = "printf '%s\\n' '" + input + "' | " + ITEMS_API_BINARY;
        for (const auto& a : args) line += " '" + a + "'";
        Process p({"/bin/sh", "-c", line}, env, folder);
        const auto code = p.wait(30s);
        return Outcome{code.value_or(-1), p.output(), p.errors()};
    };
    auto r = command({"migrate", "up"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("created superuser Admin@example.com"), std::string::npos) << r.out;
    r = command({"migrate", "up"});
    EXPECT_NE(r.out.find("superuser Admin@example.com"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("created"), std::string::npos) << "only once: " << r.out;

    r = command({"users", "create", "--email", "Second@Example.com", "--superuser"}, "second-admin-password");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "created superuser Second@example.com (id 2)\n");
    EXPECT_EQ(r.err.find("second-admin-password"), std::string::npos);
    r = command({"users", "create", "--email", "second@example.com"}, "another-password");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("already registered"), std::string::npos) << r.err;
    r = command({"users", "create", "--email", "third@example.com"}, "short");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("8 to 128 characters"), std::string::npos) << r.err;
    r = command({"users", "create", "--email", "not an address"}, "long-enough-password");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("--email"), std::string::npos) << r.err;

    env["PORT"] = std::to_string(e2e::free_port());
    Process server({ITEMS_API_BINARY, "serve"}, env, folder);
    ASSERT_TRUE(server.wait_for_output("\"msg\":\"listening\"", 30s)) << server.errors();
    const int port = std::stoi(env["PORT"]);
    for (const auto& [email, password] : std::map<std::string, std::string>{
             {"admin@example.com", "first-admin-password"}, {"second@example.com", "second-admin-password"}}) {
        const auto login = e2e::exchange(port, "POST", "/auth/token", "username=" + email + "&password=" + password,
                                         "Content-Type: application/x-www-form-urlencoded\r\n");
        ASSERT_EQ(e2e::status_of(login), 200) << email;
        const auto at = login->body.find("\"access_token\":\"") + 16;
        const std::string token = login->body.substr(at, login->body.find('"', at) - at);
        const auto users = e2e::exchange(port, "GET", "/users/", {}, "Authorization: Bearer " + token + "\r\n");
        EXPECT_EQ(e2e::status_of(users), 200) << email;
    }
}

// A FIRST_SUPERUSER that cannot be made is a bad setting, named.
TEST(Cli, AFirstSuperuserThatCannotBeMadeNamesTheSetting) {
    for (const auto& [env, name] : std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
             {{{"FIRST_SUPERUSER", "admin@example.com"}}, "FIRST_SUPERUSER_PASSWORD"},
             {{{"FIRST_SUPERUSER", "admin@example.com"}, {"FIRST_SUPERUSER_PASSWORD", "short"}}, "FIRST_SUPERUSER_PASSWORD"},
             {{{"FIRST_SUPERUSER", "nobody"}, {"FIRST_SUPERUSER_PASSWORD", "long-enough-password"}}, "FIRST_SUPERUSER"}}) {
        const auto r = run({"migrate", "up"}, env);
        EXPECT_EQ(r.code, 2) << r.err;
        EXPECT_EQ(r.err.rfind("items-api: invalid setting " + name + ":", 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

// healthcheck: 0 against a serving process, 1 with the reason when nothing answers, 2 when
// the port is not known.
TEST(Cli, HealthcheckAsksTheServiceItsSettingsDescribe) {
    e2e::Server server;
    const std::string port = std::to_string(server.port());
    const auto healthy = run({"healthcheck"}, {{"PORT", port}, {"HOST", "0.0.0.0"}});
    EXPECT_EQ(healthy.code, 0) << healthy.err;
    EXPECT_EQ(healthy.out, "healthy\n");
    EXPECT_TRUE(server.process().wait_for_output("\"path\":\"/health\"", 5s));  // it asked the service

    server.process().signal(SIGTERM);
    ASSERT_EQ(server.process().wait(20s), 0);
    const auto down = run({"healthcheck"}, {{"PORT", port}});
    EXPECT_EQ(down.code, 1);
    EXPECT_NE(down.err.find("unhealthy: connect"), std::string::npos) << down.err;

    const auto unknown = run({"healthcheck"}, {{"PORT", "0"}});
    EXPECT_EQ(unknown.code, 2);
    EXPECT_NE(unknown.err.find("PORT"), std::string::npos) << unknown.err;
}

// THREADS and PASSWORD_HASH_THREADS follow the CPUs the process may use: under `taskset -c 0`
// one loop and one hashing thread, whatever the machine has.
TEST(Cli, ThreadsFollowTheAffinityMask) {
    const auto threads_of = [](std::vector<std::string> args) {
        const std::string folder = e2e::temp_folder();
        Process p(args, {{"PORT", "0"}, {"DATABASE_URL", "sqlite:///:memory:"}, {"LOG_FORMAT", "json"}}, folder);
        EXPECT_TRUE(p.wait_for_output("\"msg\":\"listening\"", 30s)) << p.errors();
        const std::string out = p.output();
        const auto at = out.find("\"threads\":", out.find("\"msg\":\"listening\""));
        const int loops = at == std::string::npos ? -1 : std::stoi(out.substr(at + 10));
        const auto port_at = out.find("\"port\":", out.find("\"msg\":\"listening\""));
        int hashers = -1;
        if (port_at != std::string::npos) {
            e2e::Connection c(std::stoi(out.substr(port_at + 7)));
            c.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
            if (auto r = c.read_response()) {
                const std::string name = "\nitems_api_password_hash_threads ";
                const auto h = r->body.find(name);
                if (h != std::string::npos) hashers = std::stoi(r->body.substr(h + name.size()));
            }
        }
        p.signal(SIGTERM);
        EXPECT_EQ(p.wait(20s), 0);
        return std::pair{loops, hashers};
    };
    const unsigned cpus = config::usable_cpus();
    EXPECT_EQ(threads_of({ITEMS_API_BINARY, "serve"}),
              (std::pair{static_cast<int>(cpus), static_cast<int>(std::max(1u, cpus / 2))}));
    EXPECT_EQ(threads_of({"/usr/bin/taskset", "-c", "0", ITEMS_API_BINARY, "serve"}), (std::pair{1, 1}));
}

TEST(Cli, UnknownSubcommandFails) { EXPECT_NE(run({"frobnicate"}).code, 0); }

}  // namespace
