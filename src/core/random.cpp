#include "core/random.hpp"

#include <cstdint>
#include <random>

namespace core {

namespace {
// xoshiro-style generators would do as well; splitmix64 is enough for unique ids
// and costs a few instructions per call.
struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

SplitMix64& generator() {
    thread_local SplitMix64 gen{[] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }()};
    return gen;
}
}  // namespace

std::string random_hex_id() {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(32, '0');
    auto& gen = generator();
    for (int half = 0; half < 2; ++half) {
        std::uint64_t bits = gen.next();
        for (int i = 0; i < 16; ++i, bits >>= 4) out[half * 16 + i] = digits[bits & 0xf];
    }
    return out;
}

std::uint64_t random_u64() { return generator().next(); }

}  // namespace core
