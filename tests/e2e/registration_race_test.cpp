// Many connections register one e-mail at once: exactly one wins, never a 500.

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

class RegistrationRace : public ::testing::TestWithParam<std::string> {};

TEST_P(RegistrationRace, ExactlyOne201TheRest400) {
    std::map<std::string, std::string> env;
    std::unique_ptr<testing_support::FreshDatabase> fresh;
    if (GetParam() != "sqlite") {
        fresh = std::make_unique<testing_support::FreshDatabase>(GetParam());
        env = fresh->settings();
    }
    e2e::Server server(env);

    const std::string body = R"({"email":"race@example.com","password":"secret123"})";
    const std::string request = "POST /auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    std::mutex mutex;
    std::map<int, int> statuses;
    std::vector<std::thread> clients;
    for (int i = 0; i < 16; ++i) {
        clients.emplace_back([&] {
            e2e::Connection c(server.port());
            const bool sent = c.send(request);
            const auto r = sent ? c.read_response(std::chrono::seconds(30)) : std::nullopt;
            std::lock_guard lock(mutex);
            ++statuses[r ? r->status : -1];
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(statuses[201], 1);
    EXPECT_EQ(statuses[400], 15);
    EXPECT_EQ(statuses.size(), 2u) << "only 201 and 400 expected";
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistrationRace, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
