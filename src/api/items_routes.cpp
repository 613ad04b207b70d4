#include "api/deps.hpp"
#include "api/items_repository.hpp"
#include "api/models.hpp"
#include "api/routes.hpp"

namespace api {

using core::Task;
using http::Body;
using http::Path;
using http::Query;

namespace {
using ItemPath = Path<std::int64_t, "item_id">;

http::HttpError item_not_found() {
    return http::HttpError{404, "Item not found", {}};
}
const http::DocumentedResponse not_found{404, "Item not found (or not the user's)"};
}  // namespace

http::Routes items_routes() {
    http::Routes routes("/items", {"items"});

    routes.post("/", {.summary = "Create Item", .status = 201},
                [](Body<ItemCreate> in, CurrentUser me, Db db) -> Task<ItemRead> {
                    auto item = co_await items::create(*db, me.id, *in);
                    if (!item) throw invalid_credentials();
                    co_return std::move(*item);
                });

    routes.get("/", {.summary = "List Items"},
               [](Query<Page> page, CurrentUser me, Db db) -> Task<std::vector<ItemRead>> {
                   co_return co_await items::list(*db, me.id, page->skip->value, page->limit->value);
               });

    routes.get("/{item_id}", {.summary = "Read Item", .responses = {not_found}},
               [](ItemPath id, CurrentUser me, Db db) -> Task<ItemRead> {
                   auto item = co_await items::get(*db, me.id, ItemId{*id});
                   if (!item) throw item_not_found();
                   co_return std::move(*item);
               });

    routes.patch("/{item_id}", {.summary = "Update Item", .responses = {not_found}},
                 [](ItemPath id, Body<ItemUpdate> in, CurrentUser me, Db db) -> Task<ItemRead> {
                     auto item = co_await items::update(*db, me.id, ItemId{*id}, *in);
                     if (!item) throw item_not_found();
                     co_return std::move(*item);
                 });

    routes.del("/{item_id}", {.summary = "Delete Item", .status = 204, .responses = {not_found}},
               [](ItemPath id, CurrentUser me, Db db) -> Task<void> {
                   if (!co_await items::remove(*db, me.id, ItemId{*id})) throw item_not_found();
               });

    return routes;
}

}  // namespace api
