// Access tokens, and the per-thread cache of verified ones: a cached token must be
// refused exactly when a fresh verification would refuse it.

#include <gtest/gtest.h>

#include <thread>

#include "security/tokens.hpp"

using security::TokenCodec;
using namespace std::chrono_literals;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

TEST(Tokens, VerifiesItsOwnTokenAgainAndAgain) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto token = codec.issue(42, kNow);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(codec.verify(token, kNow + 1s), 42);
}

TEST(Tokens, ACachedTokenStillExpires) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto token = codec.issue(7, kNow);
    ASSERT_EQ(codec.verify(token, kNow + 29min), 7);  // cached now
    EXPECT_EQ(codec.verify(token, kNow + 30min), std::nullopt);
    EXPECT_EQ(codec.verify(token, kNow + 31min), std::nullopt);
    EXPECT_EQ(codec.verify(token, kNow + 1min), 7);
}

TEST(Tokens, ACachedTokenIsNotValidForAnotherKey) {
    const TokenCodec ours("a secret key", "HS256", 30min);
    const TokenCodec theirs("another key", "HS256", 30min);
    const auto token = ours.issue(7, kNow);
    ASSERT_EQ(ours.verify(token, kNow), 7);
    EXPECT_EQ(theirs.verify(token, kNow), std::nullopt);
    EXPECT_EQ(ours.verify(token, kNow), 7);
}

TEST(Tokens, AnAlteredCopyOfACachedTokenIsRefused) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto token = codec.issue(7, kNow);
    ASSERT_EQ(codec.verify(token, kNow), 7);
    for (std::size_t i : {std::size_t{0}, token.size() / 2, token.size() - 1}) {
        auto altered = token;
        altered[i] = altered[i] == 'A' ? 'B' : 'A';
        EXPECT_EQ(codec.verify(altered, kNow), std::nullopt) << "changed at " << i;
    }
    EXPECT_EQ(codec.verify(token + "A", kNow), std::nullopt);
    EXPECT_EQ(codec.verify(token.substr(0, token.size() - 1), kNow), std::nullopt);
}

TEST(Tokens, RefusesOtherAlgorithmsAndGarbage) {
    const TokenCodec hs256("a secret key", "HS256", 30min);
    const TokenCodec hs512("a secret key", "HS512", 30min);
    EXPECT_EQ(hs256.verify(hs512.issue(7, kNow), kNow), std::nullopt);
    EXPECT_EQ(hs256.verify("", kNow), std::nullopt);
    EXPECT_EQ(hs256.verify("not.a.token", kNow), std::nullopt);
    EXPECT_THROW(TokenCodec("k", "none", 30min), std::invalid_argument);
}

TEST(Tokens, EachThreadVerifiesOnItsOwn) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    std::vector<std::string> tokens;
    for (int id = 1; id <= 600; ++id) tokens.push_back(codec.issue(id, kNow));  // more than the cache holds
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int round = 0; round < 2; ++round)
                for (std::size_t i = 0; i < tokens.size(); ++i)
                    if (codec.verify(tokens[i], kNow) != static_cast<std::int64_t>(i + 1)) ++wrong;
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
