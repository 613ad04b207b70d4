// Access tokens, and the per-thread cache of verified ones: a cached token must be
// refused exactly when a fresh verification would refuse it.

#include <gtest/gtest.h>
#include <sodium.h>

#include <thread>

#include "security/tokens.hpp"

using security::TokenCodec;
using namespace std::chrono_literals;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

// The user a token names, if it verifies.
std::optional<std::int64_t> user_of(const TokenCodec& codec, const std::string& token,
                                    std::chrono::system_clock::time_point now) {
    const auto claims = codec.verify(token, now);
    if (!claims) return std::nullopt;
    return claims->user_id;
}

// A token's claims: its second part, base64url without padding.
std::string payload_of(const std::string& token) {
    const auto first = token.find('.'), second = token.find('.', first + 1);
    const std::string part = token.substr(first + 1, second - first - 1);
    std::string out(part.size(), '\0');
    std::size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), part.c_str(), part.size(), nullptr,
                          &length, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return {};
    out.resize(length);
    return out;
}

TEST(Tokens, CarriesTheTokenVersionOnlyOnceItIsNotZero) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto plain = codec.issue(7, 0, kNow);
    const auto versioned = codec.issue(7, 3, kNow);
    EXPECT_EQ(codec.verify(plain, kNow)->version, 0);
    EXPECT_EQ(codec.verify(versioned, kNow)->version, 3);
    EXPECT_EQ(codec.verify(versioned, kNow)->version, 3);  // from the cache
    // "ver" is absent from a version-0 token's claims, as from the original's tokens.
    EXPECT_EQ(payload_of(plain).find("\"ver\""), std::string::npos) << payload_of(plain);
    EXPECT_NE(payload_of(versioned).find("\"ver\":3"), std::string::npos) << payload_of(versioned);
}

TEST(Tokens, VerifiesItsOwnTokenAgainAndAgain) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto token = codec.issue(42, 0, kNow);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(user_of(codec, token, kNow + 1s), 42);
}

TEST(Tokens, ACachedTokenStillExpires) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto token = codec.issue(7, 0, kNow);
    ASSERT_EQ(user_of(codec, token, kNow + 29min), 7);  // cached now
    EXPECT_EQ(user_of(codec, token, kNow + 30min), std::nullopt);
    EXPECT_EQ(user_of(codec, token, kNow + 31min), std::nullopt);
    EXPECT_EQ(user_of(codec, token, kNow + 1min), 7);
}

TEST(Tokens, ACachedTokenIsNotValidForAnotherKey) {
    const TokenCodec ours("a secret key", "HS256", 30min);
    const TokenCodec theirs("another key", "HS256", 30min);
    const auto token = ours.issue(7, 0, kNow);
    ASSERT_EQ(user_of(ours, token, kNow), 7);
    EXPECT_EQ(user_of(theirs, token, kNow), std::nullopt);
    EXPECT_EQ(user_of(ours, token, kNow), 7);
}

TEST(Tokens, AnAlteredCopyOfACachedTokenIsRefused) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    const auto token = codec.issue(7, 0, kNow);
    ASSERT_EQ(user_of(codec, token, kNow), 7);
    for (std::size_t i : {std::size_t{0}, token.size() / 2, token.size() - 1}) {
        auto altered = token;
        altered[i] = altered[i] == 'A' ? 'B' : 'A';
        EXPECT_EQ(user_of(codec, altered, kNow), std::nullopt) << "changed at " << i;
    }
    EXPECT_EQ(user_of(codec, token + "A", kNow), std::nullopt);
    EXPECT_EQ(user_of(codec, token.substr(0, token.size() - 1), kNow), std::nullopt);
}

TEST(Tokens, RefusesOtherAlgorithmsAndGarbage) {
    const TokenCodec hs256("a secret key", "HS256", 30min);
    const TokenCodec hs512("a secret key", "HS512", 30min);
    EXPECT_EQ(user_of(hs256, hs512.issue(7, 0, kNow), kNow), std::nullopt);
    EXPECT_EQ(user_of(hs256, "", kNow), std::nullopt);
    EXPECT_EQ(user_of(hs256, "not.a.token", kNow), std::nullopt);
    EXPECT_THROW(TokenCodec("k", "none", 30min), std::invalid_argument);
}

TEST(Tokens, EachThreadVerifiesOnItsOwn) {
    const TokenCodec codec("a secret key", "HS256", 30min);
    std::vector<std::string> tokens;
    for (int id = 1; id <= 600; ++id) tokens.push_back(codec.issue(id, 0, kNow));  // more than the cache holds
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int round = 0; round < 2; ++round)
                for (std::size_t i = 0; i < tokens.size(); ++i)
                    if (user_of(codec, tokens[i], kNow) != static_cast<std::int64_t>(i + 1)) ++wrong;
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
