#include <boost/describe/members.hpp>
#include <boost/mp11/list.hpp>
#include <memory>
#include <optional>

#include "api/deps.hpp"
#include "api/items_repository.hpp"
#include "api/models.hpp"
#include "api/routes.hpp"
#include "api/users_repository.hpp"

namespace api {

using core::Task;
using http::Path;

namespace {

// The rest of /users/me's items, read a batch at a time after the last one sent, and
// encoded as the rest of the document, "]}" with the last. Each batch is a small read
// (the (owner_id, id) index, as `after` pages): no statement holds a connection for the
// whole answer, none has the others' small reads queued behind it for long, and between
// two batches the loop serves its other connections.
class ItemsAfter final : public http::BodyStream {
public:
    ItemsAfter(db::Database& db, UserId owner, std::int64_t last) : db_(db), owner_(owner), last_(last) {}

    Task<bool> next(std::string& out) override {
        auto batch = co_await items::next_batch(db_, owner_, last_);
        for (const auto& item : batch.items) {
            out += ',';
            schema::Codec<ItemRead>::write(out, item);
        }
        if (!batch.items.empty()) last_ = batch.items.back().id;
        if (!batch.more) out += "]}";
        co_return batch.more;
    }

private:
    db::Database& db_;
    UserId owner_;
    std::int64_t last_;
};

}  // namespace

http::Routes users_routes() {
    http::Routes routes("/users", {"users"});

    // Every item of the user, as the original answers; more than one batch of them is
    // streamed (ItemsAfter), so that the answer's cost in memory does not grow with them.
    routes.get("/me", {.summary = "Read Current User"},
               [](CurrentUser me, Db db) -> Task<http::Encoded<UserReadWithItems>> {
                   // (Awaited before the braces: g++ 12 mishandles co_await inside an aggregate initializer.)
                   auto first = co_await items::first_batch(*db, me.id);
                   const std::int64_t last = first.items.empty() ? 0 : first.items.back().id;
                   const UserReadWithItems user{std::move(me.email), me.id.value, me.is_active, std::move(first.items)};
                   auto response = http::Response::json(200, schema::to_json(user));
                   if (first.more) {
                       // `items` is the document's last member: its "]}" comes with the last batch.
                       using Members = boost::describe::describe_members<UserReadWithItems, boost::describe::mod_public>;
                       static_assert(boost::mp11::mp_back<Members>::pointer == &UserReadWithItems::items);
                       response.body.resize(response.body.size() - 2);
                       response.stream = std::make_shared<ItemsAfter>(*db, me.id, last);
                   }
                   co_return http::Encoded<UserReadWithItems>{std::move(response)};
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
