#pragma once
// What route handlers of this service may ask for besides their input, named once,
// as FastAPI's deps.py names SessionDep and CurrentUser.

#include <memory>

#include "db/database.hpp"
#include "http/app.hpp"
#include "schema/errors.hpp"

namespace api {

// Everything one event-loop thread owns for this service.
struct ThreadState : http::WorkerState {
    std::unique_ptr<db::Database> database;
};

// The thread's database: `[](Db db) -> Task<...> { co_await db->query(...); }`
struct Db {
    db::Database* database = nullptr;

    db::Database& operator*() const { return *database; }
    db::Database* operator->() const { return database; }

    static void extract(http::RequestContext& ctx, Db& out, schema::Errors&) {
        out.database = static_cast<ThreadState*>(ctx.worker)->database.get();
    }
};

}  // namespace api
