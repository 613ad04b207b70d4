#pragma once
// Items in the database: all the SQL about them, parameterized. Every statement is
// scoped to the owner, so another user's item is simply not found.

#include <cstdint>
#include <optional>
#include <vector>

#include "api/ids.hpp"
#include "api/models.hpp"
#include "core/task.hpp"
#include "db/database.hpp"

namespace api::items {

// Nothing (and nothing written) when the owner is gone or inactive.
core::Task<std::optional<ItemRead>> create(db::Database& db, UserId owner, const ItemCreate& in);
// A page of the owner's items ordered by id: those with an id greater than `after` (if
// given), `skip` of them skipped, at most `limit`; `more` when items follow it.
struct Page {
    std::vector<ItemRead> items;
    bool more = false;
};
core::Task<Page> list(db::Database& db, UserId owner, std::int64_t skip, std::int64_t limit,
                      std::optional<std::int64_t> after);
// /users/me's items, a batch at a time: the owner's first kFirstBatchSize, answered whole
// when no more follow; then (a streamed answer) the next kNextBatchSize after `after` (an
// id). The next batches are smaller so that each is a short turn for the database and the
// event loop alike, between the other requests' turns: the backend that reads a batch
// runs on the cores the small requests' backends share, and a batch of 1,000 kept their
// tail longer (docs/design/streamed-answers.md). The price: more statements per big answer.
constexpr std::int64_t kFirstBatchSize = 1000;
constexpr std::int64_t kNextBatchSize = 250;
core::Task<Page> first_batch(db::Database& db, UserId owner);
core::Task<Page> next_batch(db::Database& db, UserId owner, std::int64_t after);
core::Task<std::optional<ItemRead>> get(db::Database& db, UserId owner, ItemId id);
// Changes only the fields `in` carries, in one statement.
core::Task<std::optional<ItemRead>> update(db::Database& db, UserId owner, ItemId id, const ItemUpdate& in);
core::Task<bool> remove(db::Database& db, UserId owner, ItemId id);

}  // namespace api::items
