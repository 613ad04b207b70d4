#pragma once
// libsodium, initialised once for the process, for the security files that use it.

#include <sodium.h>

namespace security {

// False if libsodium cannot be used (sodium_init failed); callers refuse or throw.
inline bool sodium_ready() {
    static const bool ready = sodium_init() >= 0;
    return ready;
}

}  // namespace security
