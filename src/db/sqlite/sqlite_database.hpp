#pragma once
// The embedded SQLite backend: one file in WAL mode, foreign keys on; a read connection
// per thread and one writer thread for the process.

#include <memory>

#include "db/database.hpp"
#include "db/url.hpp"

namespace db::sqlite {

// sqlite:///:memory: is served from a temporary file that lives as long as the
// connector: every thread's connection then sees the same database, with WAL's
// concurrency, and it is gone when the process ends.
std::unique_ptr<Connector> make_connector(const SqliteUrl& url, const ConnectorOptions& options);

}  // namespace db::sqlite
