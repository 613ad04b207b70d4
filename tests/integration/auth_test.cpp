// /auth/register and /auth/token, and the tokens and hashes of the original service.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api_support.hpp"
#include "security/password.hpp"

#include <thread>

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class Auth : public ApiTest {};

// The original's test_register_and_login.
TEST_P(Auth, RegisterThenLogin) {
    const auto r = register_user("test@example.com", "secret123");
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body, R"({"email":"test@example.com","id":1,"is_active":true})");

    const auto t = login("test@example.com", "secret123");
    EXPECT_EQ(t.status, 200);
    const auto token = body(t);
    EXPECT_EQ(token.at("token_type"), "bearer");
    EXPECT_FALSE(token.at("access_token").as_string().empty());
}

TEST_P(Auth, RegisteredUserNeverShowsItsPasswordOrHash) {
    const auto r = register_user("a@example.com", "secret123");
    EXPECT_EQ(r.body.find("secret123"), std::string::npos);
    EXPECT_EQ(r.body.find("argon2"), std::string::npos);
    EXPECT_FALSE(body(r).as_object().contains("hashed_password"));
}

TEST_P(Auth, PasswordsAreStoredAsArgon2id) {
    register_user("a@example.com", "secret123");
    const auto hash = sql("SELECT hashed_password FROM users").rows.at(0).get<std::string>(0);
    EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
}

TEST_P(Auth, EmailAlreadyRegisteredIs400) {
    register_user("a@example.com");
    const auto r = register_user("a@example.com");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"detail":"Email already registered"})");
}

TEST_P(Auth, EmailIsUniqueRegardlessOfCase) {
    register_user("Ann@Example.com");
    EXPECT_EQ(register_user("ann@example.COM").status, 400);
}

TEST_P(Auth, LoginIgnoresTheCaseOfTheEmail) {
    register_user("Ann@example.com");
    EXPECT_EQ(login("aNN@EXAMPLE.com").status, 200);
}

TEST_P(Auth, InvalidRegistrationListsEveryProblem) {
    const auto r = client.post("/auth/register", R"({"email": "not-an-email", "password": "short"})");
    EXPECT_EQ(r.status, 422);
    const auto detail = body(r).at("detail").as_array();
    ASSERT_EQ(detail.size(), 2u);
    EXPECT_EQ(detail[0].at("type"), "value_error");
    EXPECT_EQ(detail[0].at("loc"), json::parse(R"(["body","email"])"));
    EXPECT_EQ(detail[1].at("type"), "string_too_short");
    EXPECT_EQ(detail[1].at("loc"), json::parse(R"(["body","password"])"));
    EXPECT_EQ(detail[1].at("input"), "**********") << "a rejected password is never echoed";
}

TEST_P(Auth, PasswordLengthIs8To128) {
    EXPECT_EQ(register_user("a@example.com", std::string(7, 'p')).status, 422);
    EXPECT_EQ(register_user("b@example.com", std::string(129, 'p')).status, 422);
    EXPECT_EQ(register_user("c@example.com", std::string(8, 'p')).status, 201);
    EXPECT_EQ(register_user("d@example.com", std::string(128, 'p')).status, 201);
}

TEST_P(Auth, MissingBodyFieldsAre422) {
    const auto r = client.post("/auth/register", "{}");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[
        {"type":"missing","loc":["body","email"],"msg":"Field required","input":{}},
        {"type":"missing","loc":["body","password"],"msg":"Field required","input":{}}]})"));
}

TEST_P(Auth, WrongPasswordIs401WithBearerChallenge) {
    register_user("a@example.com");
    const auto r = login("a@example.com", "wrongpass");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Incorrect email or password"})");
    ASSERT_NE(r.headers.find("www-authenticate"), nullptr);
    EXPECT_EQ(*r.headers.find("www-authenticate"), "Bearer");
}

TEST_P(Auth, UnknownEmailIsTheSame401) {
    const auto r = login("nobody@example.com", "secret123");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"detail":"Incorrect email or password"})");
    EXPECT_EQ(*r.headers.find("www-authenticate"), "Bearer");
}

TEST_P(Auth, LoginFormFieldsAreRequired) {
    const auto r = client.post_form("/auth/token", "");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[
        {"type":"missing","loc":["body","username"],"msg":"Field required","input":null},
        {"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]})"));
}

TEST_P(Auth, GrantTypeMustBePasswordIfSent) {
    register_user("a@example.com");
    EXPECT_EQ(client.post_form("/auth/token", "grant_type=password&username=a@example.com&password=secret123").status,
              200);
    const auto r = client.post_form("/auth/token", "grant_type=client_credentials&username=a@example.com&password=x");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("type"), "string_pattern_mismatch");
    EXPECT_EQ(body(r).at("detail").at(0).at("loc"), json::parse(R"(["body","grant_type"])"));
}

TEST_P(Auth, SwaggerStyleFormWithScopeAndClientFieldsWorks) {
    register_user("a@example.com");
    const auto r = client.post_form(
        "/auth/token", "grant_type=password&username=a%40example.com&password=secret123&scope=&client_id=&client_secret=");
    EXPECT_EQ(r.status, 200) << r.body;
}

// The original's libraries made these (tests/fixtures/compat.json).
TEST_P(Auth, TokensOfTheOriginalAreAcceptedOrRefusedAsThere) {
    const auto fixture = testing_support::compat_fixture();
    const auto& tokens = fixture.at("tokens").as_object();
    register_user("first@example.com");  // user 1

    const auto valid = client.get("/users/me", bearer(std::string(tokens.at("valid_sub_1").at("token").as_string())));
    EXPECT_EQ(valid.status, 200) << valid.body;
    EXPECT_EQ(body(valid).at("email"), "first@example.com");

    for (const char* name : {"expired", "wrong_key", "alg_hs512", "alg_none", "no_sub", "non_numeric_sub"}) {
        const auto r = client.get("/users/me", bearer(std::string(tokens.at(name).at("token").as_string())));
        EXPECT_EQ(r.status, 401) << name;
        EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})") << name;
        ASSERT_NE(r.headers.find("www-authenticate"), nullptr) << name;
    }
}

std::string base64url(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

std::string base64url_decode(std::string s) {
    for (auto& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4) s += '=';
    std::string out(s.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '\0') out.pop_back();
    return out;
}

// What python-jose checks of our tokens, checked here by hand with OpenSSL's HMAC.
TEST_P(Auth, OurTokensAreStandardHs256ThatTheOriginalAccepts) {
    const std::string token = user_token("a@example.com");
    const auto dot1 = token.find('.'), dot2 = token.rfind('.');
    const auto header = json::parse(base64url_decode(token.substr(0, dot1)));
    const auto payload = json::parse(base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1)));
    EXPECT_EQ(header.at("alg"), "HS256");
    EXPECT_EQ(payload.at("sub"), "1");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_NEAR(static_cast<double>(payload.at("exp").as_int64()), static_cast<double>(now + 30 * 60), 5.0);

    const std::string secret(testing_support::compat_fixture().at("secret_key").as_string());
    const std::string signed_part = token.substr(0, dot2);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &mac_size);
    EXPECT_EQ(token.substr(dot2 + 1), base64url(mac, mac_size));
}

// A token with `header` and `payload` (JSON texts), signed with HMAC-SHA256 and the test
// key whatever its header says: what a forger with the key, or a careless client library,
// would send.
std::string signed_token(const std::string& header, const std::string& payload) {
    const auto part = [](const std::string& s) {
        return base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    };
    const std::string signed_part = part(header) + "." + part(payload);
    const std::string secret(testing_support::compat_fixture().at("secret_key").as_string());
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &mac_size);
    return signed_part + "." + base64url(mac, mac_size);
}

// The claims of a token for user 1 that expires in an hour, with `more` ("\"jti\": 7").
std::string claims(const std::string& more = {}) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    return R"({"sub":"1","exp":)" + std::to_string(now + 3600) + (more.empty() ? "" : "," + more) + "}";
}

const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string seconds_from_now(long s) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count() + s);
}

TEST_P(Auth, ATokenWhoseAlgIsOursInAnotherCaseIs401) {
    register_user("first@example.com");
    EXPECT_EQ(client.get("/users/me", bearer(signed_token(kHs256, claims()))).status, 200) << "the control";
    for (const char* alg : {"hs256", "Hs256"}) {
        const auto r = client.get("/users/me", bearer(signed_token(R"({"alg":")" + std::string(alg) + R"(","typ":"JWT"})",
                                                                   claims())));
        EXPECT_EQ(r.status, 401) << alg;
        EXPECT_EQ(r.body, R"({"detail":"Could not validate credentials"})") << alg;
    }
}

// Without JWT_AUDIENCE, a token meant for any audience is not for us (as python-jose).
TEST_P(Auth, ATokenNamingAnAudienceIs401WithoutJwtAudience) {
    register_user("first@example.com");
    for (const char* aud : {R"("other-service")", R"(["other-service"])", R"(["a","b"])", R"([])", "7"}) {
        const auto r = client.get("/users/me", bearer(signed_token(kHs256, claims(R"("aud":)" + std::string(aud)))));
        EXPECT_EQ(r.status, 401) << aud;
    }
    const std::string ours = user_token("second@example.com");
    const auto dot1 = ours.find('.'), dot2 = ours.rfind('.');
    EXPECT_FALSE(json::parse(base64url_decode(ours.substr(dot1 + 1, dot2 - dot1 - 1))).as_object().contains("aud"));
}

TEST_P(Auth, RegisteredClaimsOfTheWrongTypeAre401) {
    register_user("first@example.com");
    for (const std::string& claim : {std::string(R"("nbf":"soon")"), std::string(R"("iat":"yesterday")"),
                                     std::string(R"("jti":42)"), std::string(R"("iat":true)"),
                                     std::string(R"("nbf":null)"), std::string(R"("jti":{"id":"x"})"),
                                     R"("nbf":)" + seconds_from_now(600)}) {
        const auto r = client.get("/users/me", bearer(signed_token(kHs256, claims(claim))));
        EXPECT_EQ(r.status, 401) << claim;
    }
    const auto expires_as_text = R"({"sub":"1","exp":")" + seconds_from_now(3600) + R"("})";
    EXPECT_EQ(client.get("/users/me", bearer(signed_token(kHs256, expires_as_text))).status, 401);
    // Of the right types, as python-jose writes them: accepted.
    const auto well_typed = claims(R"("nbf":)" + seconds_from_now(-60) + R"(,"iat":)" + seconds_from_now(-60) +
                                   R"(.5,"jti":"a1b2")");
    EXPECT_EQ(client.get("/users/me", bearer(signed_token(kHs256, well_typed))).status, 200);
}

// bcrypt reads 72 bytes of a password, as passlib did for the original: a longer one that
// matches there logs in, but its hash is kept, so that the password the user really has
// (which only agrees with what was typed in those 72 bytes) keeps logging in too.
TEST_P(Auth, ABcryptHashIsNotReplacedFromAPasswordLongerThanBcryptReads) {
    const std::string real = std::string(72, 'B') + "-real-tail";
    const std::string other = std::string(72, 'B') + "-other";
    const std::string bcrypt_of_real = "$2b$04$biOHKXKiEC7Mg133o4jtN.KmaHs8plE8ftrQhS5NNIeJ31PITs23a";
    sql("INSERT INTO users (email, hashed_password, is_active) VALUES ($1, $2, $3)",
        {std::string("long@example.com"), bcrypt_of_real, true});
    EXPECT_EQ(login("long@example.com", other).status, 200) << "bcrypt's 72 bytes match, as with the original";
    EXPECT_EQ(sql("SELECT hashed_password FROM users").rows.at(0).get<std::string>(0), bcrypt_of_real);
    EXPECT_EQ(login("long@example.com", real).status, 200) << "the real password is locked out";
    EXPECT_EQ(login("long@example.com", std::string(71, 'B')).status, 401);
}

// Stored hashes that would keep a hashing thread busy for hours: not verified, a failed
// login (the hashing pool, and every other login, go on).
TEST_P(Auth, AStoredHashOfExcessiveCostIsAFailedLogin) {
    const std::string hashes[] = {
        "$2b$31$" + std::string(53, 'a'),
        "$argon2id$v=19$m=19456,t=100000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"};
    int n = 0;
    for (const auto& hash : hashes) {
        const std::string email = "costly" + std::to_string(n++) + "@example.com";
        sql("INSERT INTO users (email, hashed_password, is_active) VALUES ($1, $2, $3)", {email, hash, true});
        const auto r = login(email, "secret123");
        EXPECT_EQ(r.status, 401) << hash;
        EXPECT_EQ(r.body, R"({"detail":"Incorrect email or password"})");
    }
    EXPECT_FALSE(user_token("fine@example.com").empty()) << "other logins go on";
}

TEST_P(Auth, BcryptUserOfTheOriginalLogsInAndIsRehashed) {
    const auto fixture = testing_support::compat_fixture().at("bcrypt_user");
    const std::string email(fixture.at("email").as_string());
    const std::string password(fixture.at("password").as_string());
    sql("INSERT INTO users (email, hashed_password, is_active) VALUES ($1, $2, $3)",
        {email, std::string(fixture.at("hashed_password").as_string()), true});

    EXPECT_EQ(login(email, "wrongpass").status, 401);
    EXPECT_TRUE(sql("SELECT hashed_password FROM users").rows.at(0).get<std::string>(0).starts_with("$2b$"))
        << "a failed login must not touch the hash";

    EXPECT_EQ(login(email, password).status, 200);
    const auto rehashed = sql("SELECT hashed_password FROM users").rows.at(0).get<std::string>(0);
    EXPECT_TRUE(rehashed.starts_with("$argon2id$")) << rehashed;
    EXPECT_EQ(login(email, password).status, 200);
}

// With JWT_AUDIENCE set, our tokens carry it, a token naming it (alone or among others) is
// ours, one naming only others is not, and the original's tokens (no aud) still are.
class AuthWithAudience : public ApiTest {
  protected:
    AuthWithAudience()
        : ApiTest({{"JWT_AUDIENCE", "items-api"},
                   {"LOGIN_MAX_FAILURES", "1000"},
                   {"LOGIN_MAX_FAILURES_PER_CLIENT", "1000"}}) {}
};

TEST_P(AuthWithAudience, OurTokensCarryItAndATokenMustNameItIfItNamesAny) {
    const std::string ours = user_token("first@example.com");
    const auto dot1 = ours.find('.'), dot2 = ours.rfind('.');
    EXPECT_EQ(json::parse(base64url_decode(ours.substr(dot1 + 1, dot2 - dot1 - 1))).at("aud"), "items-api");
    EXPECT_EQ(client.get("/users/me", bearer(ours)).status, 200);
    for (const char* aud : {R"("items-api")", R"(["other","items-api"])"})
        EXPECT_EQ(client.get("/users/me", bearer(signed_token(kHs256, claims(R"("aud":)" + std::string(aud))))).status,
                  200)
            << aud;
    for (const char* aud : {R"("other-service")", R"(["other"])", R"("ITEMS-API")", R"(["items-api",7])"})
        EXPECT_EQ(client.get("/users/me", bearer(signed_token(kHs256, claims(R"("aud":)" + std::string(aud))))).status,
                  401)
            << aud;
    const auto fixture = testing_support::compat_fixture();
    const std::string original(fixture.at("tokens").at("valid_sub_1").at("token").as_string());
    EXPECT_EQ(client.get("/users/me", bearer(original)).status, 200) << "the original's token, without aud";
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthWithAudience, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, Auth, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace

namespace {

// The hashing pool's queue is bounded: a flood of logins gets 503 for what does not
// fit, never unbounded queueing, never a 500.
class HashingOverload : public testing_support::ApiTest {
protected:
    HashingOverload()
        : ApiTest({{"PASSWORD_HASH_THREADS", "1"}, {"PASSWORD_HASH_QUEUE", "1"}, {"LOGIN_MAX_FAILURES", "1000"}}) {}
};

// `count` logins with `email` and the right password at once.
std::vector<std::pair<int, std::string>> flood(http::App& app, http::TestClient& client, const std::string& email,
                                               int count) {
    return testing_support::at_once(app, client,
                                    std::vector<std::string>(static_cast<std::size_t>(count),
                                                             "username=" + email + "&password=secret123"));
}

TEST_P(HashingOverload, AFloodOfLoginsGets503ForWhatDoesNotFit) {
    ASSERT_EQ(register_user("a@example.com").status, 201);
    const auto answers = flood(sut.service.app(), client, "a@example.com", 8);
    ASSERT_EQ(answers.size(), 8u);
    int ok = 0, unavailable = 0;
    for (const auto& [status, text] : answers) {
        if (status == 200) ++ok;
        if (status == 503) {
            ++unavailable;
            EXPECT_EQ(text, R"({"detail":"Service Unavailable"})");
        }
    }
    EXPECT_GE(ok, 1);
    EXPECT_GE(unavailable, 1);
    EXPECT_EQ(ok + unavailable, 8) << "only 200 and 503 expected";
}

// An unknown e-mail is verified against a dummy hash on the same pool (which is what
// makes it take as long as a known one): a flood of them fills the pool just the same.
TEST_P(HashingOverload, UnknownEmailsAreVerifiedOnThePoolToo) {
    const auto answers = flood(sut.service.app(), client, "nobody@example.com", 8);
    ASSERT_EQ(answers.size(), 8u);
    int refused = 0, unavailable = 0;
    for (const auto& [status, text] : answers) {
        if (status == 401) ++refused;
        if (status == 503) ++unavailable;
    }
    EXPECT_GE(refused, 1);
    EXPECT_GE(unavailable, 1) << "unknown e-mails must cost a verification like known ones";
    EXPECT_EQ(refused + unavailable, 8);
}

INSTANTIATE_TEST_SUITE_P(Backends, HashingOverload, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
