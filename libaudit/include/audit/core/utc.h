// Time as the toolkit writes it: UTC, "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, so that times compare as
// strings), and proleptic Gregorian day numbers for date arithmetic. The one place that formats
// or parses a time; everything else calls these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace audit::core {

// "YYYY-MM-DDTHH:MM:SSZ" of seconds since 1970-01-01T00:00:00Z.
std::string format_utc(std::int64_t epoch_seconds);
// "YYYYMMDDTHHMMSSZ" (for file names).
std::string format_utc_compact(std::int64_t epoch_seconds);
// Seconds since the epoch now (the system clock).
std::int64_t epoch_now();
// format_utc of now, and of now + seconds.
std::string utc_now();
std::string utc_in(long long seconds);

// "YYYY-MM-DDTHH:MM:SSZ" exactly (the shape format_utc writes, fields in range).
bool is_rfc3339_utc(const std::string& s);
// Seconds since the epoch of an RFC 3339 time ("2026-01-01T00:00:00Z"; fractions, 't' or ' ' as
// separator, 'z' and "+HH:MM" offsets allowed); nullopt when it is not one.
std::optional<std::int64_t> parse_rfc3339(const std::string& s);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm); month 1..12.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
struct CivilDate {
    std::int64_t year = 1970;
    unsigned month = 1;  // 1..12
    unsigned day = 1;    // 1..31
};
// The date of a day number (the inverse of days_from_civil).
CivilDate civil_from_days(std::int64_t days);
// "YYYY-MM-DD" of a day number.
std::string format_date(std::int64_t days);

}  // namespace audit::core
