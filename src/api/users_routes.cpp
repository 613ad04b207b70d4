#include "api/deps.hpp"
#include "api/items_repository.hpp"
#include "api/models.hpp"
#include "api/routes.hpp"
#include "api/users_repository.hpp"

namespace api {

using core::Task;
using http::Path;

http::Routes users_routes() {
    http::Routes routes("/users", {"users"});

    routes.get("/me", {.summary = "Read Current User"}, [](CurrentUser me, Db db) -> Task<UserReadWithItems> {
        // (Awaited before the braces: g++ 12 mishandles co_await inside an aggregate initializer.)
        auto owned = co_await items::all_of(*db, me.id);
        co_return UserReadWithItems{std::move(me.email), me.id.value, me.is_active, std::move(owned)};
    });

    routes.get("/{user_id}", {.summary = "Read User", .responses = {{404, "User not found"}}},
               [](Path<std::int64_t, "user_id"> user_id, CurrentUser, Db db) -> Task<UserRead> {
                   const auto user = co_await users::find_by_id(*db, UserId{*user_id});
                   if (!user) throw http::HttpError{404, "User not found", {}};
                   co_return UserRead{user->email, user->id.value, user->is_active};
               });

    // Beyond the original: their items go too (the original answers 500 on PostgreSQL).
    routes.del("/me", {.summary = "Delete Current User", .status = 204}, [](CurrentUser me, Db db) -> Task<void> {
        co_await users::remove(*db, me.id);
    });

    return routes;
}

}  // namespace api
