#pragma once
// One SQLite connection: opened in WAL mode with foreign keys on and Unicode lower(),
// its statements prepared once and kept.

#include <string>
#include <string_view>
#include <unordered_map>

#include "db/database.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace db::sqlite {

class Connection {
public:
    explicit Connection(const std::string& path);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Several statements, no parameters.
    void exec(std::string_view sql);
    // One statement with its parameters ($n or ?n), to its last row.
    Result run(std::string_view sql, const Params& params);

private:
    sqlite3_stmt* prepare(std::string_view sql);

    sqlite3* conn_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace db::sqlite
