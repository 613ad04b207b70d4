#pragma once
// The ids of users and items as types of their own, so that a repository call with the
// two swapped does not compile.

#include <cstdint>

namespace api {

struct UserId {
    std::int64_t value = 0;
    friend bool operator==(UserId, UserId) = default;
};

struct ItemId {
    std::int64_t value = 0;
    friend bool operator==(ItemId, ItemId) = default;
};

}  // namespace api
