#include "api/items_repository.hpp"

#include <limits>
#include <utility>

namespace api::items {

namespace {

// The row's strings are moved into the model, not copied.
ItemRead item_of(db::Row& row) {
    return ItemRead{row.take<std::string>(1), row.take<std::optional<std::string>>(2), row.get<std::int64_t>(0),
                    row.get<std::int64_t>(3)};
}

std::vector<ItemRead> items_of(db::Result r) {
    std::vector<ItemRead> out;
    out.reserve(r.rows.size());
    for (auto& row : r.rows) out.push_back(item_of(row));
    return out;
}

// Up to `size` items, from rows asked for one more: if it came, another page follows.
Page page_of(db::Result r, std::int64_t size) {
    Page page;
    page.items = items_of(std::move(r));
    if (std::cmp_greater(page.items.size(), size)) {
        page.items.pop_back();
        page.more = true;
    }
    return page;
}

std::optional<ItemRead> first(db::Result r) {
    if (r.empty()) return std::nullopt;
    return item_of(r.rows.front());
}

db::Value text_or_null(const std::optional<Str<0, 10000>>& s) {
    if (s) return std::string(*s);
    return nullptr;
}

// Ids arrive as 64-bit integers; PostgreSQL's columns are 32-bit, and a larger
// parameter must find nothing rather than fail: hence CAST($n AS BIGINT).
// The owner is checked again in the statement itself, so that a user deleted or
// deactivated since the request's check inserts nothing (instead of a foreign-key error).
constexpr const char* kCreate =
    "INSERT INTO items (title, description, owner_id) "
    "SELECT $1, $2, id FROM users WHERE id = CAST($3 AS BIGINT) AND is_active "
    "RETURNING id, title, description, owner_id";
// One statement for both forms of paging: without `after`, $4 is the smallest id there is.
// The index on (owner_id, id) makes `after` a range scan, however deep the page.
constexpr db::Statement kList = db::reads(
    "SELECT id, title, description, owner_id FROM items "
    "WHERE owner_id = CAST($1 AS BIGINT) AND id > CAST($4 AS BIGINT) ORDER BY id LIMIT $2 OFFSET $3");
// A batch of /users/me's items: the same read with its limit written in, no OFFSET: with
// LIMIT $n OFFSET $m (kList), PostgreSQL's generic plan made /users/me much slower.
constexpr db::Statement kFirstBatch = db::reads(
    "SELECT id, title, description, owner_id FROM items "
    "WHERE owner_id = CAST($1 AS BIGINT) AND id > CAST($2 AS BIGINT) ORDER BY id LIMIT 1001");
static_assert(kFirstBatchSize + 1 == 1001, "kFirstBatch asks for one row more than a batch");
// The batches after the first come only when there are more than 1,000 items: a streamed
// answer's, read off the connection that the small statements share (db::bulk_reads).
constexpr db::Statement kNextBatch = db::bulk_reads(
    "SELECT id, title, description, owner_id FROM items "
    "WHERE owner_id = CAST($1 AS BIGINT) AND id > CAST($2 AS BIGINT) ORDER BY id LIMIT 251");
static_assert(kNextBatchSize + 1 == 251, "kNextBatch asks for one row more than a batch");
constexpr db::Statement kGet = db::reads(
    "SELECT id, title, description, owner_id FROM items "
    "WHERE id = CAST($1 AS BIGINT) AND owner_id = CAST($2 AS BIGINT)");
constexpr const char* kUpdate =
    "UPDATE items SET title = CASE WHEN $3 THEN $4 ELSE title END, "
    "description = CASE WHEN $5 THEN $6 ELSE description END "
    "WHERE id = CAST($1 AS BIGINT) AND owner_id = CAST($2 AS BIGINT) "
    "RETURNING id, title, description, owner_id";
constexpr const char* kDelete = "DELETE FROM items WHERE id = CAST($1 AS BIGINT) AND owner_id = CAST($2 AS BIGINT)";

}  // namespace

core::Task<std::optional<ItemRead>> create(db::Database& db, UserId owner, const ItemCreate& in) {
    db::Params params{std::string(in.title), text_or_null(in.description), owner.value};
    co_return first(co_await db.query(kCreate, std::move(params)));
}

core::Task<Page> list(db::Database& db, UserId owner, std::int64_t skip, std::int64_t limit,
                      std::optional<std::int64_t> after) {
    // One row more than the page, to know whether another page follows.
    db::Params params{owner.value, limit + 1, skip, after.value_or(std::numeric_limits<std::int64_t>::min())};
    co_return page_of(co_await db.query(kList, std::move(params)), limit);
}

core::Task<Page> first_batch(db::Database& db, UserId owner) {
    // $2: the smallest id there is (the statement is the next batches' with another limit,
    // as bench/run's pgbench ceiling for `me` issues it).
    db::Params params{owner.value, std::numeric_limits<std::int64_t>::min()};
    co_return page_of(co_await db.query(kFirstBatch, std::move(params)), kFirstBatchSize);
}

core::Task<Page> next_batch(db::Database& db, UserId owner, std::int64_t after) {
    db::Params params{owner.value, after};
    co_return page_of(co_await db.query(kNextBatch, std::move(params)), kNextBatchSize);
}

core::Task<std::optional<ItemRead>> get(db::Database& db, UserId owner, ItemId id) {
    db::Params params{id.value, owner.value};
    co_return first(co_await db.query(kGet, std::move(params)));
}

core::Task<std::optional<ItemRead>> update(db::Database& db, UserId owner, ItemId id, const ItemUpdate& in) {
    db::Params params{id.value,
                      owner.value,
                      in.title.present,
                      in.title.present ? db::Value(std::string(in.title.value)) : db::Value(nullptr),
                      in.description.present,
                      in.description.present ? text_or_null(in.description.value) : db::Value(nullptr)};
    co_return first(co_await db.query(kUpdate, std::move(params)));
}

core::Task<bool> remove(db::Database& db, UserId owner, ItemId id) {
    db::Params params{id.value, owner.value};
    co_return (co_await db.query(kDelete, std::move(params))).affected > 0;
}

}  // namespace api::items
