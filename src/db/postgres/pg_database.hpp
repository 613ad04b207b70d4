#pragma once
// The PostgreSQL backend: libpq in non-blocking pipeline mode on the thread's
// io_context. Each thread has a small pool of connections; single statements from
// many requests share a connection's pipeline, a transaction takes one for itself.

#include <memory>

#include "db/database.hpp"
#include "db/url.hpp"

namespace db::postgres {

std::unique_ptr<Connector> make_connector(const PostgresUrl& url, const ConnectorOptions& options);

}  // namespace db::postgres
