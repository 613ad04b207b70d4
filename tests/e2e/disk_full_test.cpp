// SQLite on a full disk (a 4 MiB tmpfs, filled up): writes are answered 503 JSON, reads go
// on, nothing is corrupted, and writes work again once there is space.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "process.hpp"

namespace {

using namespace std::chrono_literals;

using e2e::exchange;

// A small tmpfs at `dir` while it lives.
class SmallDisk {
  public:
    explicit SmallDisk(std::string dir) : dir_(std::move(dir)) {
        std::filesystem::create_directories(dir_);
        mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=4m") == 0;
    }
    ~SmallDisk() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }

  private:
    std::string dir_;
    bool mounted_ = false;
};

// Writes zeros to `path` until the disk is full.
void fill(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::setvbuf(f, nullptr, _IONBF, 0);
    const std::string chunk(4096, '\0');
    while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) {
    }
    std::fclose(f);
}

TEST(SqliteDiskFull, WritesAre503ReadsGoOnNothingIsCorruptedAndWritesComeBack) {
    const std::string dir = e2e::temp_folder() + "/small";
    SmallDisk disk(dir);
    if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
    const std::string db_path = dir + "/app.db";
    std::optional<e2e::Server> server;
    server.emplace(std::map<std::string, std::string>{{"DATABASE_URL", "sqlite:///" + db_path}});
    const int port = server->port();
    const std::string json = "Content-Type: application/json\r\n";

    ASSERT_EQ(e2e::status_of(exchange(port, "POST", "/auth/register",
                                      R"({"email":"d@example.com","password":"secret123"})", json)),
              201);
    const auto login =
        exchange(port, "POST", "/auth/token", "username=d@example.com&password=secret123",
                 "Content-Type: application/x-www-form-urlencoded\r\n");
    ASSERT_TRUE(login && login->status == 200);
    const std::string bearer =
        "Authorization: Bearer " +
        std::string(boost::json::parse(login->body).at("access_token").as_string()) + "\r\n";
    const std::string item =
        R"({"title":"on a small disk","description":")" + std::string(2000, 'x') + R"("})";
    const auto first = exchange(port, "POST", "/items/", item, json + bearer);
    ASSERT_TRUE(first && first->status == 201);
    const auto id = boost::json::parse(first->body).at("id").as_int64();
    int acknowledged = 1;

    fill(dir + "/filler");
    // SQLite may still have room in pages it holds; the disk is full soon after.
    std::optional<e2e::RawResponse> refused;
    for (int i = 0; i < 2000 && !refused; ++i) {
        auto r = exchange(port, "POST", "/items/", item, json + bearer);
        ASSERT_TRUE(r) << "no answer to a write on a full disk";
        if (r->status == 201)
            ++acknowledged;
        else
            refused = std::move(r);
    }
    ASSERT_TRUE(refused) << "every write succeeded on a full disk";
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(refused->body, R"({"detail":"Service Unavailable"})");
    EXPECT_TRUE(refused->headers.count("retry-after"));
    for (int i = 0; i < 3; ++i) {  // the writes keep failing cleanly; the reads go on
        EXPECT_EQ(e2e::status_of(exchange(port, "POST", "/items/", item, json + bearer)), 503);
        const auto read = exchange(port, "GET", "/items/" + std::to_string(id), {}, bearer);
        ASSERT_TRUE(read);
        EXPECT_EQ(read->status, 200);
        EXPECT_EQ(e2e::status_of(exchange(port, "GET", "/items/?limit=5", {}, bearer)), 200);
        EXPECT_EQ(e2e::status_of(exchange(port, "GET", "/health")), 200);
    }

    std::filesystem::remove(dir + "/filler");
    const auto again = exchange(port, "POST", "/items/", item, json + bearer);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 201) << again->body;
    acknowledged += again->status == 201;

    server->process().signal(SIGTERM);
    EXPECT_EQ(server->process().wait(20s), 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    auto value = [&](const char* sql) {
        sqlite3_stmt* st = nullptr;
        std::string out;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return out;
    };
    EXPECT_EQ(value("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(value("SELECT count(*) FROM items"), std::to_string(acknowledged));
    sqlite3_close(db);
}

}  // namespace
