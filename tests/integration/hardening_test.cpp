// Hostile input, on both databases: NUL characters, numbers a double cannot echo,
// and login forms as FastAPI reads them.

#include "api_support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class Hardening : public ApiTest {};

// A strict reading of a body: RFC 8259 JSON (Boost.JSON refuses `Infinity` and `NaN`),
// nothing after it.
json::value strict(const http::Response& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.body;
    return v;
}

// ---- NUL characters ------------------------------------------------------------

TEST_P(Hardening, ATitleWithNulIs422AndNothingIsStored) {
    const auto token = user_token("a@example.com");
    for (const char* text : {R"({"title": "\u0000x"})", R"({"title": "ok\u0000"})",
                             R"({"title": "ok", "description": "a\u0000b"})"}) {
        const auto r = client.post("/items/", text, bearer(token));
        ASSERT_EQ(r.status, 422) << text << " -> " << r.body;
        const auto err = strict(r).at("detail").at(0);
        EXPECT_EQ(err.at("type"), "value_error");
        EXPECT_EQ(err.at("msg"),
                  "Value error, String should not contain the NUL character (U+0000)");
    }
    EXPECT_EQ(client.get("/items/", bearer(token)).body, "[]");
}

TEST_P(Hardening, APatchWithNulIs422AndChangesNothing) {
    const auto token = user_token("a@example.com");
    const auto id =
        body(client.post("/items/", R"({"title": "kept"})", bearer(token))).at("id").as_int64();
    const auto r =
        client.patch("/items/" + std::to_string(id), R"({"title": "x\u0000y"})", bearer(token));
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(client.get("/items/" + std::to_string(id), bearer(token))).at("title"), "kept");
}

TEST_P(Hardening, AnEmailWithNulCannotRegister) {
    const auto r = client.post("/auth/register",
                               R"({"email": "a@example.com\u0000x", "password": "secret123"})");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(strict(r).at("detail").at(0).at("loc"), json::parse(R"(["body","email"])"));
}

TEST_P(Hardening, ALoginWithNulAfterARealEmailNeverMatches) {
    register_user("a@example.com");
    const auto r = login("a@example.com%00anything");
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(strict(r).at("detail").at(0).at("loc"), json::parse(R"(["body","username"])"));
    EXPECT_EQ(login("a@example.com", "secret123%00x").status, 422);
    const auto masked = login("a@example.com", "secret123%00x");
    EXPECT_EQ(strict(masked).at("detail").at(0).at("input"), "**********")
        << "a password is never echoed";
}

TEST_P(Hardening, QueryAndPathTextWithNulIs422) {
    const auto token = user_token("a@example.com");
    EXPECT_EQ(client.get("/items/?limit=1%00", bearer(token)).status, 422);
    EXPECT_EQ(client.get("/items/1%00", bearer(token)).status, 422);
}

TEST_P(Hardening, FormTextThatIsNotUtf8IsReadWithReplacementCharacters) {
    register_user("a@example.com");
    EXPECT_EQ(login("a%FFb@example.com").status, 401) << "no such user, and no database error";
    const auto r = client.post_form("/auth/token", "username=%C3&password=");
    EXPECT_EQ(r.status, 422);
    strict(r);
}

// ---- Numbers in error bodies ------------------------------------------------------

TEST_P(Hardening, AnExponentBeyondADoubleIsEchoedAsSent) {
    const auto token = user_token("a@example.com");
    const auto r = client.post("/items/", R"({"title": 1e400})", bearer(token));
    ASSERT_EQ(r.status, 422);
    EXPECT_EQ(r.body.find("Infinity"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("input":1e400)"), std::string::npos) << r.body;
    strict(r);
    const auto neg = client.post("/items/", R"({"description": -1E+999})", bearer(token));
    ASSERT_EQ(neg.status, 422);
    EXPECT_NE(neg.body.find(R"(-1E+999)"), std::string::npos) << neg.body;
    strict(neg);
}

TEST_P(Hardening, AHugeIntegerIsEchoedWithEveryDigit) {
    const auto token = user_token("a@example.com");
    const auto r =
        client.post("/items/", R"({"title": 123456789012345678901234567890})", bearer(token));
    ASSERT_EQ(r.status, 422);
    EXPECT_NE(r.body.find(R"("input":123456789012345678901234567890)"), std::string::npos)
        << r.body;
    strict(r);
    // Echoed inside a whole body too (a missing field shows the object it looked in).
    const auto missing =
        client.post("/items/", R"({"x": [1e400, -123456789012345678901234567890]})", bearer(token));
    ASSERT_EQ(missing.status, 422);
    EXPECT_NE(missing.body.find(R"([1e400,-123456789012345678901234567890])"), std::string::npos)
        << missing.body;
    strict(missing);
}

TEST_P(Hardening, ItemIdsBeyond64BitsAre422WithJson) {
    const auto token = user_token("a@example.com");
    const auto r = client.get("/items/123456789012345678901234567890", bearer(token));
    EXPECT_EQ(r.status, 422);
    strict(r);
}

// ---- Forms as FastAPI reads them --------------------------------------------------

TEST_P(Hardening, EmptyUsernameOrPasswordIsFieldRequired) {
    register_user("a@example.com");
    const auto r = client.post_form("/auth/token", "username=&password=");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[
        {"type":"missing","loc":["body","username"],"msg":"Field required","input":null},
        {"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]})"));
    EXPECT_EQ(client.post_form("/auth/token", "username=a@example.com&password=").status, 422);
}

TEST_P(Hardening, AnEmptyGrantTypeIsAccepted) {
    register_user("a@example.com");
    const auto r =
        client.post_form("/auth/token", "grant_type=&username=a@example.com&password=secret123");
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST_P(Hardening, AMultipartLoginWorks) {
    register_user("a@example.com");
    const std::string boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    const std::string form =
        "--" + boundary +
        "\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\na@example.com\r\n--" +
        boundary + "\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nsecret123\r\n--" +
        boundary + "--\r\n";
    const auto r = client.request("POST", "/auth/token", form,
                                  {{"content-type", "multipart/form-data; boundary=" + boundary}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(body(r).at("access_token").is_string());

    const auto quoted =
        client.request("POST", "/auth/token", form,
                       {{"content-type", "multipart/form-data; boundary=\"" + boundary + "\""}});
    EXPECT_EQ(quoted.status, 200) << quoted.body;

    const auto wrong =
        client.request("POST", "/auth/token",
                       "--" + boundary +
                           "\r\nContent-Disposition: form-data; "
                           "name=\"username\"\r\n\r\na@example.com\r\n--" +
                           boundary + "--\r\n",
                       {{"content-type", "multipart/form-data; boundary=" + boundary}});
    EXPECT_EQ(wrong.status, 422) << "the password is missing";
}

TEST_P(Hardening, AMalformedMultipartBodyIs400) {
    const auto r = client.request("POST", "/auth/token", "not multipart at all",
                                  {{"content-type", "multipart/form-data; boundary=xyz"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"detail":"There was an error parsing the body"})");
}

// ---- Nesting and length ------------------------------------------------------------

// JSON nested deeper than 32 levels (Boost.JSON's max_depth) is a decode error however deep
// it goes: 100,000 levels in one body is a 422, never a stack overflow (the sanitizer build
// would see one). An array's length is bounded by the body's (1 MiB).
TEST_P(Hardening, DeepNestingIs422AndALongArrayIsBoundedByTheBodyLimit) {
    const auto token = user_token("a@example.com");
    for (std::size_t depth : {33u, 1000u, 100000u}) {
        const auto r = client.post("/items/", std::string(depth, '[') + std::string(depth, ']'), bearer(token));
        ASSERT_EQ(r.status, 422) << depth;
        EXPECT_EQ(strict(r).at("detail").at(0).at("type"), "json_invalid") << depth;
    }
    std::string nested = R"({"title":"t","description":)";
    for (int i = 0; i < 50000; ++i) nested += R"({"a":)";
    nested += "1" + std::string(50000, '}') + "}";
    EXPECT_EQ(strict(client.post("/items/", nested, bearer(token))).at("detail").at(0).at("type"), "json_invalid");
    // 32 levels are JSON: the model then says what is wrong, echoing the input as Pydantic
    // does (so the answer is 35 levels deep: more than Boost.JSON reads by default).
    const auto shallow = client.post("/items/", std::string(32, '[') + std::string(32, ']'), bearer(token));
    json::parse_options deeper;
    deeper.max_depth = 64;
    boost::system::error_code ec;
    const auto answer = json::parse(shallow.body, ec, {}, deeper);
    ASSERT_FALSE(ec) << shallow.body;
    EXPECT_EQ(answer.at("detail").at(0).at("type"), "model_attributes_type");

    // Half a million elements, just under the body limit (past it the socket answers 413 before
    // reading on: Server.TwoMebibyteBodyIs413): a 422, the input echoed once.
    std::string long_array = "[0";
    while (long_array.size() < 1024 * 1024 - 3) long_array += ",0";
    long_array += "]";
    const auto long_answer = client.post("/items/", long_array, bearer(token));
    EXPECT_EQ(long_answer.status, 422);
    EXPECT_LT(long_answer.body.size(), long_array.size() + 512);
    EXPECT_EQ(client.get("/items/", bearer(token)).body, "[]");
}

INSTANTIATE_TEST_SUITE_P(Backends, Hardening, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
