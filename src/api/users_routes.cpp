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
using http::Body;
using http::Path;
using http::Query;
using http::WithHeaders;

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

using UserPath = Path<std::int64_t, "user_id">;

http::HttpError user_not_found() { return http::HttpError{404, "User not found", {}}; }
http::HttpError cannot_delete_self() {
    return http::HttpError{403, "Super users are not allowed to delete themselves", {}};
}
http::HttpError email_taken() { return http::HttpError{409, "Email already registered", {}}; }
const http::DocumentedResponse email_taken_response{409, "Email already registered (by another user)"};

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

    // Beyond the original, as the FastAPI full-stack template: the user's own account.
    routes.patch("/me", {.summary = "Update User Me", .responses = {email_taken_response}},
                 [](Body<UserUpdateMe> in, CurrentUser me, Db db) -> Task<UserRead> {
                     if (in->email && !co_await users::change_email(*db, me.id, in->email.value)) throw email_taken();
                     const auto user = co_await users::find_by_id(*db, me.id);
                     if (!user) throw invalid_credentials();
                     co_return UserRead{user->email, user->id.value, user->is_active};
                 });

    // The current password is checked as a login is, failed-login limits included; a
    // new one ends every access token issued before it.
    routes.patch("/me/password",
                 {.summary = "Update Password Me",
                  .responses = {{400, "Incorrect password, or the new password is the current one"}}},
                 [](Body<UpdatePassword> in, CurrentUser me, Db db, Passwords passwords,
                    LoginGuard guard) -> Task<Message> {
                     auto attempt = guard.reserve(me.email);
                     const auto user = co_await users::find_by_id(*db, me.id);
                     if (!user) throw invalid_credentials();
                     if (!co_await passwords.verify(*user, in->current_password)) {
                         attempt.failed();
                         throw http::HttpError{400, "Incorrect password", {}};
                     }
                     attempt.succeeded();
                     if (in->new_password == in->current_password)
                         throw http::HttpError{400, "New password cannot be the same as the current one", {}};
                     auto hash = co_await passwords.hash(in->new_password);
                     co_await users::change_password(*db, me.id, std::move(hash));
                     co_return Message{"Password updated successfully"};
                 });

    // The superuser's: every account, paged as GET /items/ pages items.
    routes.get("/",
               {.summary = "Read Users",
                .headers = {{"X-Total-Count", "How many users there are"},
                            {"Link", "The next page, when there is one (RFC 8288): </users/?limit=20&after=41>; rel=\"next\""}}},
               [](Query<PageQuery> page, Superuser, Db db) -> Task<WithHeaders<std::vector<UserAdminRead>>> {
                   const std::int64_t limit = page->limit->value;
                   std::optional<std::int64_t> after;
                   if (page->after) after = page->after->value;
                   auto found = co_await users::list(*db, page->skip->value, limit, after);
                   const std::int64_t total = co_await users::count(*db);
                   WithHeaders<std::vector<UserAdminRead>> out{std::move(found.users)};
                   out.headers.add("X-Total-Count", std::to_string(total));
                   if (found.more) {
                       out.headers.add("Link", "</users/?limit=" + std::to_string(limit) +
                                                   "&after=" + std::to_string(out.value.back().id) + ">; rel=\"next\"");
                   }
                   co_return out;
               });

    routes.post("/", {.summary = "Create User", .status = 201, .responses = {email_taken_response}},
                [](Body<UserAdminCreate> in, Superuser, Db db, Passwords passwords) -> Task<UserAdminRead> {
                    if (co_await users::find_by_email(*db, in->email)) throw email_taken();  // no hashing then
                    auto hash = co_await passwords.hash(in->password);
                    const auto user =
                        co_await users::create(*db, in->email, std::move(hash), *in->is_active, *in->is_superuser);
                    if (!user) throw email_taken();
                    auto view = co_await users::admin_view(*db, user->id);
                    if (!view) throw user_not_found();  // deleted meanwhile
                    co_return std::move(*view);
                });

    routes.get("/{user_id}", {.summary = "Read User", .responses = {{404, "User not found"}}},
               [](UserPath user_id, CurrentUser, Db db) -> Task<UserRead> {
                   const auto user = co_await users::find_by_id(*db, UserId{*user_id});
                   if (!user) throw http::HttpError{404, "User not found", {}};
                   co_return UserRead{user->email, user->id.value, user->is_active};
               });

    // A superuser may not take their own rights away (nor lock themself out).
    routes.patch("/{user_id}",
                 {.summary = "Update User",
                  .responses = {{404, "User not found"}, email_taken_response,
                                {403, "A superuser demoting or deactivating themself"}}},
                 [](UserPath user_id, Body<UserAdminUpdate> in, Superuser admin, Db db,
                    Passwords passwords) -> Task<UserAdminRead> {
                     const UserId id{*user_id};
                     if (id == admin.user.id && ((in->is_superuser && !*in->is_superuser) ||
                                                 (in->is_active && !*in->is_active)))
                         throw http::HttpError{403, "Super users are not allowed to demote themselves", {}};
                     users::Changes changes;
                     if (in->email) changes.email = in->email.value;
                     if (in->password) changes.hashed_password = co_await passwords.hash(in->password.value);
                     if (in->is_active) changes.is_active = *in->is_active;
                     if (in->is_superuser) changes.is_superuser = *in->is_superuser;
                     if (!co_await users::find_by_id(*db, id)) throw user_not_found();
                     try {
                         co_await users::update(*db, id, changes);
                     } catch (const db::DatabaseError& e) {
                         if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
                         throw email_taken();
                     }
                     auto view = co_await users::admin_view(*db, id);
                     if (!view) throw user_not_found();  // deleted meanwhile
                     co_return std::move(*view);
                 });

    routes.del("/{user_id}",
               {.summary = "Delete User",
                .status = 204,
                .responses = {{404, "User not found"}, {403, "A superuser deleting themself"}}},
               [](UserPath user_id, Superuser admin, Db db) -> Task<void> {
                   if (UserId{*user_id} == admin.user.id) throw cannot_delete_self();
                   if (!co_await users::remove(*db, UserId{*user_id})) throw user_not_found();
               });

    // Beyond the original: their items go too (the original answers 500 on PostgreSQL).
    // A superuser cannot (another superuser can).
    routes.del("/me", {.summary = "Delete Current User", .status = 204, .responses = {{403, "A superuser deleting themself"}}},
               [](CurrentUser me, Db db) -> Task<void> {
                   if (me.is_superuser) throw cannot_delete_self();
                   co_await users::remove(*db, me.id);
               });

    return routes;
}

}  // namespace api
