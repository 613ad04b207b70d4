#include "api/deps.hpp"
#include "api/items_repository.hpp"
#include "api/models.hpp"
#include "api/routes.hpp"

namespace api {

using core::Task;
using http::Body;
using http::Path;
using http::Query;
using http::WithHeaders;

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

    // Beyond the original: `after`, and a Link to the next page (RFC 8288) on every page
    // that has one, in the `after` form, so that a client following it pages through
    // any number of items at the cost of the first page.
    routes.get("/",
               {.summary = "List Items",
                .headers = {{"Link", "The next page, when there is one (RFC 8288): </items/?limit=20&after=41>; rel=\"next\""}}},
               [](Query<PageQuery> page, CurrentUser me, Db db) -> Task<WithHeaders<std::vector<ItemRead>>> {
                   const std::int64_t limit = page->limit->value;
                   std::optional<std::int64_t> after;
                   if (page->after) after = page->after->value;
                   auto found = co_await items::list(*db, me.id, page->skip->value, limit, after);
                   WithHeaders<std::vector<ItemRead>> out{std::move(found.items)};
                   if (found.more) {
                       out.headers.add("Link", "</items/?limit=" + std::to_string(limit) +
                                                   "&after=" + std::to_string(out.value.back().id) + ">; rel=\"next\"");
                   }
                   co_return out;
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
