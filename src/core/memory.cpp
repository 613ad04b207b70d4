#include "core/memory.hpp"

#include <malloc.h>

// Weak: resolved when the executable links mimalloc (CMakeLists.txt, ITEMS_MIMALLOC), null
// otherwise, so the library and its tests need not link it.
extern "C" void mi_collect(bool force) __attribute__((weak));

namespace core {

void release_free_memory() {
    if (mi_collect != nullptr)
        mi_collect(true);
    else
        malloc_trim(0);
}

}  // namespace core
