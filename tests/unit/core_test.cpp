// core/: time, hex, ASCII strings, the atomic writer and the bounded reader every layer shares.
#include <catch_amalgamated.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "audit/core/ascii.h"
#include "audit/core/atomic_file.h"
#include "audit/core/hex.h"
#include "audit/core/utc.h"
#include "audit/error.h"
#include "audit/input_file.h"
#include "support.h"

namespace core_test_cases {  // one namespace per test file: unity builds compile several as one

namespace core = audit::core;
using audit_test::slurp;
using audit_test::TempDir;
using audit_test::write;

TEST_CASE("format_utc writes RFC 3339 UTC and the compact file-name form", "[core]") {
    CHECK(core::format_utc(0) == "1970-01-01T00:00:00Z");
    CHECK(core::format_utc(1795943700) == "2026-11-29T09:15:00Z");
    CHECK(core::format_utc_compact(1795943700) == "20261129T091500Z");
    CHECK(core::format_utc(951782400) == "2000-02-29T00:00:00Z");  // a leap day
    CHECK(core::format_utc(-1) == "1969-12-31T23:59:59Z");
    CHECK(core::is_rfc3339_utc(core::utc_now()));
    CHECK(core::utc_in(3600) > core::utc_now());
}

TEST_CASE("is_rfc3339_utc accepts exactly the shape format_utc writes", "[core]") {
    CHECK(core::is_rfc3339_utc("2026-11-29T09:15:00Z"));
    CHECK(core::is_rfc3339_utc("2026-12-31T23:59:60Z"));  // a leap second
    CHECK_FALSE(core::is_rfc3339_utc("2026-11-29T09:15:00+00:00"));
    CHECK_FALSE(core::is_rfc3339_utc("2026-11-29 09:15:00Z"));
    CHECK_FALSE(core::is_rfc3339_utc("2026-13-01T00:00:00Z"));
    CHECK_FALSE(core::is_rfc3339_utc("2026-00-01T00:00:00Z"));
    CHECK_FALSE(core::is_rfc3339_utc("2026-01-32T00:00:00Z"));
    CHECK_FALSE(core::is_rfc3339_utc("2026-01-01T24:00:00Z"));
    CHECK_FALSE(core::is_rfc3339_utc("2026-01-01T00:00:00.5Z"));
    CHECK_FALSE(core::is_rfc3339_utc(""));
}

TEST_CASE("parse_rfc3339 reads offsets and fractions and agrees with timegm", "[core]") {
    CHECK(core::parse_rfc3339("1970-01-01T00:00:00Z") == 0);
    CHECK(core::parse_rfc3339("2026-11-29T09:15:00Z") == 1795943700);
    CHECK(core::parse_rfc3339("2026-11-29t09:15:00z") == 1795943700);
    CHECK(core::parse_rfc3339("2026-11-29 09:15:00.123456Z") == 1795943700);
    CHECK(core::parse_rfc3339("2026-11-29T10:15:00+01:00") == 1795943700);
    CHECK(core::parse_rfc3339("2026-11-29T04:15:00-05:00") == 1795943700);
    CHECK_FALSE(core::parse_rfc3339("2026-11-29T09:15:00"));
    CHECK_FALSE(core::parse_rfc3339("2026-11-29T09:15:00Zjunk"));
    CHECK_FALSE(core::parse_rfc3339("2026-11-29T09:15:00.Z"));
    CHECK_FALSE(core::parse_rfc3339("2026-11-29T09:15:00+0100"));
    CHECK_FALSE(core::parse_rfc3339("2026-11-29"));
    CHECK_FALSE(core::parse_rfc3339(""));
    // Every day of a few years, leap days and day 31 of short months (which roll over) included.
    for (int y : {1970, 1999, 2000, 2024, 2026, 2100}) {
        for (int m = 1; m <= 12; ++m) {
            for (int d = 1; d <= 31; ++d) {
                char text[64];  // room for any int: -Wformat-truncation at -O1 (asan preset)
                std::snprintf(text, sizeof text, "%04d-%02d-%02dT12:34:56Z", y, m, d);
                std::tm tm{};
                tm.tm_year = y - 1900;
                tm.tm_mon = m - 1;
                tm.tm_mday = d;
                tm.tm_hour = 12;
                tm.tm_min = 34;
                tm.tm_sec = 56;
                INFO(text);
                CHECK(core::parse_rfc3339(text) == static_cast<std::int64_t>(::timegm(&tm)));
            }
        }
    }
}

TEST_CASE("days_from_civil and civil_from_days are inverse, proleptic Gregorian", "[core]") {
    CHECK(core::days_from_civil(1970, 1, 1) == 0);
    CHECK(core::days_from_civil(2000, 3, 1) == 11017);
    CHECK(core::days_from_civil(1969, 12, 31) == -1);
    CHECK(core::days_from_civil(2001, 1, 1) * 86400 == 978307200);  // Apple's epoch
    CHECK(core::format_date(0) == "1970-01-01");
    CHECK(core::format_date(20421) == "2025-11-29");
    CHECK(core::format_date(core::days_from_civil(2024, 2, 29)) == "2024-02-29");
    for (std::int64_t z = -800000; z <= 800000; z += 997) {
        const auto c = core::civil_from_days(z);
        INFO(z);
        CHECK(core::days_from_civil(c.year, c.month, c.day) == z);
        CHECK(c.month >= 1);
        CHECK(c.month <= 12);
        CHECK(c.day >= 1);
        CHECK(c.day <= 31);
    }
}

TEST_CASE("hex: lowercase encoding, decoding either case, the digests", "[core]") {
    CHECK(core::hex_encode("") == "");
    CHECK(core::hex_encode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
    CHECK(core::hex_decode("0001abff") == std::string("\x00\x01\xab\xff", 4));
    CHECK(core::hex_decode("0001ABFF") == std::string("\x00\x01\xab\xff", 4));
    CHECK_FALSE(core::hex_decode("abc"));
    CHECK_FALSE(core::hex_decode("zz"));
    CHECK_FALSE(core::hex_decode("ab cd"));
    CHECK(core::is_lower_hex("00ff"));
    CHECK(core::is_lower_hex("00ff", 4));
    CHECK_FALSE(core::is_lower_hex("00ff", 6));
    CHECK_FALSE(core::is_lower_hex("00FF"));
    CHECK(core::is_hex("00FFaa"));
    CHECK_FALSE(core::is_hex("0x"));
    CHECK(core::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(core::sha384_hex("abc") ==
          "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
          "8086072ba1e7cc2358baeca134c825a7");
}

TEST_CASE("ASCII lower and trim leave other bytes alone", "[core]") {
    CHECK(core::ascii_lower("AbC-\xc3\x89") == "abc-\xc3\x89");
    CHECK(core::trim(" \t x y \r\n") == "x y");
    CHECK(core::trim(" \n ").empty());
    CHECK(core::trim("").empty());
}

TEST_CASE("write_file_atomic creates, replaces, refuses to replace, sets the mode", "[core]") {
    TempDir dir;
    const std::string path = dir.str() + "/out.json";
    core::write_file_atomic(path, "one", false, 0600);
    CHECK(slurp(path) == "one");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    core::write_file_atomic(path, "two");
    CHECK(slurp(path) == "two");
    try {
        core::write_file_atomic(path, "three", /*no_replace=*/true);
        FAIL("replaced an existing file");
    } catch (const audit::IoError& e) {
        CHECK(std::string(e.what()).find("already exists; refusing to replace it") !=
              std::string::npos);
    }
    CHECK(slurp(path) == "two");
    // No temporary file is left behind, whether the write succeeded or was refused.
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                        std::filesystem::directory_iterator{}) == 1);
    CHECK_THROWS_AS(core::write_file_atomic(dir.str() + "/no/such/dir/f", "x"), audit::IoError);
}

TEST_CASE("AtomicFile leaves nothing behind unless committed", "[core]") {
    TempDir dir;
    const std::string path = dir.str() + "/streamed";
    {
        core::AtomicFile f(path);
        f.write("partial");
    }
    CHECK(std::filesystem::is_empty(dir.path));
    {
        core::AtomicFile f(path);
        f.write("whole");
        f.commit(/*no_replace=*/true, 0644);
    }
    CHECK(slurp(path) == "whole");
    CHECK(core::dir_of("a/b/c") == "a/b");
    CHECK(core::dir_of("/c") == "/");
    CHECK(core::dir_of("c") == ".");
}

TEST_CASE("read_input_file reads one byte past the bound and refuses non-files", "[core]") {
    TempDir dir;
    write(dir.path / "f", "0123456789");
    CHECK(audit::read_input_file(dir.str() + "/f", 100, "test file") == "0123456789");
    CHECK(audit::read_input_file(dir.str() + "/f", 4, "test file") == "01234");  // max + 1
    CHECK_FALSE(audit::read_input_file_if_exists(dir.str() + "/missing", 4, "test file"));
    CHECK_THROWS_AS(audit::read_input_file(dir.str() + "/missing", 4, "test file"), audit::IoError);
    CHECK_THROWS_AS(audit::read_input_file(dir.str(), 4, "test file"), audit::UsageError);
    REQUIRE(::mkfifo((dir.str() + "/fifo").c_str(), 0600) == 0);
    CHECK_THROWS_AS(audit::read_input_file(dir.str() + "/fifo", 4, "test file"),
                    audit::UsageError);  // and does not block waiting for a writer
}

TEST_CASE("read_input_file_within refuses a file over the bound, never truncates it", "[core]") {
    TempDir dir;
    const std::string f = dir.str() + "/f";
    write(f, "0123456789");
    CHECK(audit::read_input_file_within<audit::VerifyError>(f, 10, "test file", ": too large") ==
          "0123456789");  // exactly at the bound
    CHECK_THROWS_WITH(
        audit::read_input_file_within<audit::VerifyError>(f, 9, "test file", ": too large"),
        f + ": too large");
    CHECK_THROWS_AS(audit::read_input_file_within<audit::UsageError>(f, 9, "test file", " is big"),
                    audit::UsageError);
    CHECK_THROWS_AS(audit::read_input_file_within<audit::VerifyError>(f, 9, "test file", " is big"),
                    audit::VerifyError);
    CHECK_THROWS_AS(audit::read_input_file_within<audit::VerifyError>(dir.str() + "/missing", 9,
                                                                      "test file", "!"),
                    audit::IoError);  // the errors of read_input_file stay its own
}

}  // namespace core_test_cases
