// Failed logins are limited per account and per client address; attempts are reserved
// before their password is verified, so a burst cannot verify more than the limit.

#include "api_support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class LoginLimit : public ApiTest {
  protected:
    LoginLimit()
        : ApiTest({{"LOGIN_MAX_FAILURES", "3"},
                   {"LOGIN_MAX_FAILURES_PER_CLIENT", "5"},
                   {"LOGIN_FAILURE_WINDOW", "60"},
                   {"PASSWORD_HASH_QUEUE", "1000"}}) {}

    http::Response login_from(const std::string& address, const std::string& email,
                              const std::string& password) {
        client.set_remote_address(address);
        return login(email, password);
    }
};

TEST_P(LoginLimit, RepeatedFailuresOnAnAccountAre429WithRetryAfter) {
    register_user("a@example.com");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(login("a@example.com", "wrongpass").status, 401);
    const auto r = login("a@example.com", "secret123");
    EXPECT_EQ(r.status, 429) << "the right password too, once the account is locked";
    ASSERT_NE(r.headers.find("retry-after"), nullptr);
    EXPECT_GT(std::stoi(*r.headers.find("retry-after")), 0);
    EXPECT_TRUE(body(r).at("detail").is_string());
}

TEST_P(LoginLimit, TheAccountLimitHoldsAcrossClientAddresses) {
    register_user("a@example.com");
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(login_from("10.0.0." + std::to_string(i), "a@example.com", "wrongpass").status,
                  401);
    EXPECT_EQ(login_from("10.0.0.99", "a@example.com", "guess").status, 429);
    EXPECT_EQ(login_from("10.0.0.99", "A@Example.com", "guess").status, 429)
        << "the account, whatever its case";
}

TEST_P(LoginLimit, TheClientLimitHoldsAcrossAccounts) {
    register_user("mine@example.com");
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(
            login_from("10.0.0.1", "user" + std::to_string(i) + "@example.com", "guess").status,
            401);
    EXPECT_EQ(login_from("10.0.0.1", "other@example.com", "guess").status, 429);
    EXPECT_EQ(login_from("10.0.0.1", "mine@example.com", "secret123").status, 429);
    EXPECT_EQ(login_from("10.0.0.2", "mine@example.com", "secret123").status, 200)
        << "another address is not blocked";
}

TEST_P(LoginLimit, ASuccessClearsOnlyItsOwnAccountsFailures) {
    register_user("victim@example.com");
    register_user("mine@example.com");
    // Two guesses on the victim, then a good login to one's own account, over and over:
    // the victim's failures stay counted.
    EXPECT_EQ(login("victim@example.com", "guess1").status, 401);
    EXPECT_EQ(login("victim@example.com", "guess2").status, 401);
    EXPECT_EQ(login("mine@example.com").status, 200);
    EXPECT_EQ(login("victim@example.com", "guess3").status, 401);
    EXPECT_EQ(login("mine@example.com").status, 200);
    EXPECT_EQ(login("victim@example.com", "guess4").status, 429);
}

TEST_P(LoginLimit, ASuccessClearsItsAccountsFailures) {
    register_user("a@example.com");
    client.set_remote_address("10.0.0.1");
    for (int i = 0; i < 2; ++i) EXPECT_EQ(login("a@example.com", "wrongpass").status, 401);
    EXPECT_EQ(login("a@example.com").status, 200);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(login("a@example.com", "wrongpass").status, 401);
    EXPECT_EQ(login("a@example.com").status, 200);
}

TEST_P(LoginLimit, AHundredParallelGuessesVerifyNoMoreThanTheLimit) {
    register_user("a@example.com");
    const auto answers = testing_support::at_once(
        sut.service.app(), client,
        std::vector<std::string>(100, "username=a@example.com&password=wrongpass"));
    ASSERT_EQ(answers.size(), 100u);
    int verified = 0, limited = 0;
    for (const auto& [status, text] : answers) {
        if (status == 401) ++verified;
        if (status == 429) ++limited;
    }
    EXPECT_EQ(verified, 3) << "every 401 is a verified guess";
    EXPECT_EQ(limited, 97);
}

TEST_P(LoginLimit, AHundredParallelGuessesOnManyAccountsVerifyNoMoreThanTheClientLimit) {
    std::vector<std::string> forms;
    for (int i = 0; i < 100; ++i)
        forms.push_back("username=u" + std::to_string(i) + "@example.com&password=guess");
    const auto answers = testing_support::at_once(sut.service.app(), client, forms);
    ASSERT_EQ(answers.size(), 100u);
    int verified = 0;
    for (const auto& [status, text] : answers) verified += status == 401;
    EXPECT_EQ(verified, 5);
}

TEST_P(LoginLimit, AnAttemptThatEndsOtherwiseCountsNothing) {
    register_user("a@example.com");
    // Refused before its password is looked at (bad grant_type): no failure recorded.
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(
            client.post_form("/auth/token", "grant_type=x&username=a@example.com&password=wrong")
                .status,
            422);
    EXPECT_EQ(login("a@example.com").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoginLimit, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
