// E-mail addresses normalized as the original's email-validator does, in the model, so
// that both databases store and compare one form: no second account for the same
// address written otherwise, and a login in any of its forms finds the account.

#include "api_support.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

class Emails : public ApiTest {
  protected:
    std::string registered_email(const http::Response& r) {
        EXPECT_EQ(r.status, 201) << r.body;
        return r.status == 201 ? std::string(body(r).at("email").as_string()) : std::string();
    }

    // `sent` registers as `stored`; `same` (the address written otherwise) cannot
    // register again, and logs in to the account.
    void expect_one_account(const std::string& sent, const std::string& stored, const std::string& same) {
        EXPECT_EQ(registered_email(register_user(sent)), stored);
        EXPECT_EQ(register_user(same).status, 400) << same << " is " << stored;
        EXPECT_EQ(login(same).status, 200) << same;
    }
};

TEST_P(Emails, AFullWidthDomainIsStoredAsAscii) {
    expect_one_account("user@ｅｘａｍｐｌｅ．ｃｏｍ", "user@example.com", "user@ＥＸＡＭＰＬＥ.com");
}

TEST_P(Emails, TheLocalPartIsNfcAndKeepsItsCase) {
    // "é" composed (U+00E9) and decomposed (e + U+0301) are one address.
    expect_one_account("Ren\u00e9@Example.com", "Ren\u00e9@example.com", "Rene\u0301@example.com");
}

TEST_P(Emails, NonAsciiLettersAreUniqueRegardlessOfCase) {
    expect_one_account("ÜÑÍ@example.com", "ÜÑÍ@example.com", "üñí@example.com");
    EXPECT_EQ(login("ÜÑÍ@EXAMPLE.COM").status, 200);
}

TEST_P(Emails, AnInternationalDomainIsKeptInUnicodeLowerCase) {
    expect_one_account("a@Bücher.DE", "a@bücher.de", "a@BÜCHER.de");
}

TEST_P(Emails, Rfc2142MailboxNamesAreLowerCased) {
    EXPECT_EQ(registered_email(register_user("PostMaster@Example.com")), "postmaster@example.com");
}

TEST_P(Emails, ADomainThatIsNotValidIdnaIs422) {
    const auto r =
        register_user("a@exa\u2488mple.com");  // U+2488 DIGIT ONE FULL STOP is disallowed
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(body(r).at("detail").at(0).at("type"), "value_error");
}

// Characters that show one address as another (look-alike accounts, spoofed addresses in
// admin screens and mails): refused, as email-validator refuses them, before or after @.
TEST_P(Emails, InvisibleAndBidirectionalCharactersAreRefused) {
    const std::pair<const char*, const char*> unsafe[] = {
        {"\u202E", "RIGHT-TO-LEFT OVERRIDE"}, {"\u200B", "ZERO WIDTH SPACE"},
        {"\u200C", "ZERO WIDTH NON-JOINER"},  {"\u00AD", "SOFT HYPHEN"},
        {"\u2060", "WORD JOINER"},            {"\uFEFF", "ZERO WIDTH NO-BREAK SPACE"}};
    for (const auto& [character, name] : unsafe) {
        for (const std::string& address : {"ad" + std::string(character) + "min@example.com",
                                           "admin@exam" + std::string(character) + "ple.com"}) {
            const auto r = register_user(address);
            ASSERT_EQ(r.status, 422) << name << " in " << address;
            const auto answer = body(r);
            const auto& error = answer.at("detail").at(0);
            EXPECT_EQ(error.at("type"), "value_error");
            EXPECT_EQ(error.at("msg"),
                      json::value("value is not a valid email address: The email address contains unsafe characters: " +
                                  std::string(name) + "."))
                << address;
        }
    }
    EXPECT_EQ(sql("SELECT COUNT(*) FROM users").rows.at(0).get<std::int64_t>(0), 0);
    EXPECT_EQ(registered_email(register_user("ad\u00E9min@example.com")), "ad\u00E9min@example.com")
        << "letters beyond ASCII are fine";
}

TEST_P(Emails, SpecialUseDomainsAreRefused) {
    for (const char* address : {"a@x.invalid", "a@printer.local", "a@my.localhost", "a@x.test", "a@abc.onion",
                                "a@1.168.192.in-addr.arpa", "a@X.TEST", "a@x.ｔｅｓｔ"}) {
        const auto r = register_user(address);
        ASSERT_EQ(r.status, 422) << address;
        EXPECT_EQ(body(r).at("detail").at(0).at("msg"),
                  "value is not a valid email address: The part after the @-sign is a special-use or reserved name "
                  "that cannot be used with email.")
            << address;
    }
    for (const char* address : {"a@test.com", "a@local.example.com", "a@contest.org"})
        EXPECT_EQ(register_user(address).status, 201) << address;
}

// As Pydantic's EmailStr: the whitespace around is stripped, and the address is taken out
// of a display-name form; login takes the same forms.
TEST_P(Emails, SurroundingWhitespaceAndADisplayNameGiveTheAddress) {
    EXPECT_EQ(registered_email(register_user("  a@example.com ")), "a@example.com");
    EXPECT_EQ(registered_email(register_user("Bea Smith <b@example.com>")), "b@example.com");
    EXPECT_EQ(registered_email(register_user("\"Smith, Cy\" <c@example.com>")), "c@example.com");
    EXPECT_EQ(registered_email(register_user("<d@example.com>")), "d@example.com");
    EXPECT_EQ(registered_email(register_user("\u00A0\te@example.com\u3000")), "e@example.com");
    EXPECT_EQ(register_user("b@example.com").status, 400) << "one account";
    EXPECT_EQ(login(" a@example.com ").status, 200);
    EXPECT_EQ(login("Bea <b@example.com>").status, 200);
    EXPECT_EQ(register_user("Not, A Name <f@example.com>").status, 422) << "not a display name Pydantic takes";
    EXPECT_EQ(register_user("<>").status, 422);
}

// A row stored before addresses were normalized (by an earlier version of this
// service) still logs in, with the address as it was stored.
TEST_P(Emails, AnUnnormalizedRowStillLogsIn) {
    ASSERT_EQ(register_user("model@example.com").status, 201);
    sql("INSERT INTO users (email, hashed_password, is_active) "
        "SELECT $1, hashed_password, is_active FROM users WHERE email = 'model@example.com'",
        {std::string("old@ＥＸＡＭＰＬＥ.com")});
    EXPECT_EQ(login("old@ＥＸＡＭＰＬＥ.com").status, 200);
    EXPECT_EQ(login("old@example.com").status, 401) << "only as it was stored";
}

INSTANTIATE_TEST_SUITE_P(Backends, Emails, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
