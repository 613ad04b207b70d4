// A stored password hash whose cost would keep a hashing thread busy for hours (a row
// written by hand or by another system): its logins fail at once, and the operator is told
// once per user, in the real process's log, without the hash.

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;

class StoredHash : public ::testing::TestWithParam<std::string> {
  protected:
    StoredHash() : fresh(GetParam()) {
        env = fresh.settings();
        if (GetParam() == "sqlite") env["DATABASE_URL"] = "sqlite:///" + e2e::temp_folder() + "/app.db";
        server = std::make_unique<e2e::Server>(env);
    }

    testing_support::FreshDatabase fresh;
    std::map<std::string, std::string> env;
    std::unique_ptr<e2e::Server> server;
};

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

TEST_P(StoredHash, OfExcessiveCostFailsItsLoginsWithOneWarningPerUser) {
    const std::string costly = "$2b$31$" + std::string(53, 'u');
    e2e::run_sql(env.at("DATABASE_URL"), env,
                 "INSERT INTO users (email, hashed_password, is_active) VALUES ('one@example.com', '" + costly +
                     "', true), ('two@example.com', '" + costly + "', true)");
    for (int round = 0; round < 2; ++round) {
        for (const char* email : {"one@example.com", "two@example.com"}) {
            const auto r = e2e::exchange(server->port(), "POST", "/auth/token",
                                         "username=" + std::string(email) + "&password=secret123",
                                         "Content-Type: application/x-www-form-urlencoded\r\n");
            ASSERT_TRUE(r) << "no answer to the login of " << email;
            EXPECT_EQ(r->status, 401) << r->body;
        }
    }
    const std::string warning = "a stored password hash costs too much to verify";
    ASSERT_TRUE(server->process().wait_for_output(warning, 5s));
    const std::string log = server->process().output();
    EXPECT_EQ(occurrences(log, warning), 2u) << log;
    EXPECT_EQ(occurrences(log, "\"user_id\":1,"), 1u) << log;
    EXPECT_EQ(occurrences(log, "\"user_id\":2,"), 1u) << log;
    EXPECT_NE(log.find("bcrypt cost 31 is above 14"), std::string::npos) << log;
    EXPECT_EQ(log.find(costly.substr(7)), std::string::npos) << "the hash is in the log";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoredHash, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
