#pragma once

namespace core {

// Gives the calling thread's freed memory back to the system: mimalloc keeps a thread's
// freed pages for its next allocations and purges them only while that thread goes on
// allocating, so a loop that falls quiet after a burst of large answers kept all of it.
// With mimalloc linked in,
// mi_collect(true) on this thread; with glibc's malloc (-DITEMS_MIMALLOC=OFF, the
// sanitizer builds), malloc_trim(0). Takes a few milliseconds at most: for a quiet moment.
void release_free_memory();

}  // namespace core
