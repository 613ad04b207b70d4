#include "security/refresh_tokens.hpp"

#include <array>
#include <stdexcept>

#include "security/sodium.hpp"

namespace security {

namespace {

void ensure_sodium() {
    if (!sodium_ready()) throw std::runtime_error("libsodium could not be initialised");
}

template <std::size_t N>
std::string hex(const std::array<unsigned char, N>& bytes) {
    std::string out(N * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
    out.pop_back();
    return out;
}

}  // namespace

std::string new_refresh_token() {
    ensure_sodium();
    std::array<unsigned char, 32> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

std::string refresh_token_digest(std::string_view token) {
    ensure_sodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size());
    return hex(digest);
}

std::string new_token_family() {
    ensure_sodium();
    std::array<unsigned char, 16> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    return hex(bytes);
}

}  // namespace security
