#pragma once
// Fast per-thread randomness for identifiers that are not secrets (request ids).
// Secrets (keys, tokens) use libsodium or OpenSSL instead.

#include <cstdint>
#include <string>

namespace core {

// 32 lowercase hex digits from a per-thread generator seeded once from the OS.
std::string random_hex_id();

// 64 random bits (not for secrets: seeds, salts of hash tables).
std::uint64_t random_u64();

}  // namespace core
