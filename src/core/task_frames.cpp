// Where coroutine frames come from: a per-thread cache of freed frames, by size.
//
// Every request runs a dozen coroutines (the connection's turn, the route, its
// dependencies, each query), each a heap frame of a few hundred bytes to a few KiB.
// Under load a loop thread has many requests in flight, more frames of one size than
// glibc's per-thread cache keeps (7 per size), so most frees went the slow way through
// the arena (`_int_free`, 6k instructions per item_get in bench/callgrind). Frames
// freed here are kept for the next coroutine of that size class on the same thread,
// up to a bound; a frame freed on another thread joins that thread's cache.
//
// In AddressSanitizer builds a cached frame is poisoned, so that a use of a freed
// frame is still reported, and the tests run this same code.

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "core/task.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ITEMS_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ITEMS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ITEMS_POISON(p, n) ((void)(p), (void)(n))
#define ITEMS_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace core::detail {

namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 64;                 // frames up to 4 KiB are cached
constexpr std::size_t kMaxCachedBytes = 512 * 1024;  // per thread

struct FreeFrame {
    FreeFrame* next;
};

// Set when the thread's cache is destroyed (thread exit): frames freed after that,
// by other thread-local or static destructors, go straight back to the heap.
thread_local bool cache_gone = false;

struct FrameCache {
    std::array<FreeFrame*, kClasses> heads{};
    std::size_t bytes = 0;

    ~FrameCache() {
        for (std::size_t c = 0; c < kClasses; ++c)
            while (FreeFrame* f = heads[c]) {
                ITEMS_UNPOISON(f, (c + 1) * kGranule);
                heads[c] = f->next;
                ::operator delete(f);
            }
        cache_gone = true;
    }
};

thread_local FrameCache cache;

std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* frame_allocate(std::size_t size) {
    const std::size_t c = class_of(size);
    if (c >= kClasses) return ::operator new(size);
    const std::size_t block = (c + 1) * kGranule;
    void* p = nullptr;
    if (FreeFrame* f = cache_gone ? nullptr : cache.heads[c]) {
        ITEMS_UNPOISON(f, sizeof(FreeFrame));
        cache.heads[c] = f->next;
        cache.bytes -= block;
        p = f;
    } else {
        p = ::operator new(block);
    }
    ITEMS_POISON(p, block);  // only the frame's own bytes are usable
    ITEMS_UNPOISON(p, size);
    return p;
}

void frame_free(void* p, std::size_t size) noexcept {
    const std::size_t c = class_of(size);
    if (c >= kClasses) {
        ::operator delete(p);
        return;
    }
    const std::size_t block = (c + 1) * kGranule;
    ITEMS_UNPOISON(p, block);
    if (!cache_gone && cache.bytes + block <= kMaxCachedBytes) {
        cache.heads[c] = new (p) FreeFrame{cache.heads[c]};
        cache.bytes += block;
        ITEMS_POISON(p, block);
        return;
    }
    ::operator delete(p);
}

}  // namespace core::detail
