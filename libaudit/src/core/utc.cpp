#include "audit/core/utc.h"

#include <cstdio>
#include <ctime>

namespace audit::core {

namespace {

std::string format(std::int64_t epoch_seconds, const char* shape) {
    const auto t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[48];
    std::strftime(buf, sizeof buf, shape, &tm);
    return buf;
}

}  // namespace

std::string format_utc(std::int64_t epoch_seconds) {
    return format(epoch_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

std::string format_utc_compact(std::int64_t epoch_seconds) {
    return format(epoch_seconds, "%Y%m%dT%H%M%SZ");
}

std::int64_t epoch_now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

std::string utc_now() {
    return format_utc(epoch_now());
}

std::string utc_in(long long seconds) {
    return format_utc(epoch_now() + seconds);
}

bool is_rfc3339_utc(const std::string& s) {
    static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
    if (s.size() != kShape.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (kShape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != kShape[i]) return false;
    }
    auto num = [&](std::size_t at, std::size_t n) { return std::stoi(s.substr(at, n)); };
    return num(5, 2) >= 1 && num(5, 2) <= 12 && num(8, 2) >= 1 && num(8, 2) <= 31 &&
           num(11, 2) <= 23 && num(14, 2) <= 59 && num(17, 2) <= 60;
}

std::optional<std::int64_t> parse_rfc3339(const std::string& s) {
    auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
        if (pos + n > s.size()) return std::nullopt;
        int v = 0;
        for (std::size_t k = pos; k < pos + n; ++k) {
            if (s[k] < '0' || s[k] > '9') return std::nullopt;
            v = v * 10 + (s[k] - '0');
        }
        return v;
    };
    auto year = digits(0, 4), mon = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
         min = digits(14, 2), sec = digits(17, 2);
    if (!year || !mon || !day || !hour || !min || !sec || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return std::nullopt;
    if (*mon < 1 || *mon > 12 || *day < 1 || *day > 31 || *hour > 23 || *min > 59 || *sec > 60)
        return std::nullopt;
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
    }
    std::int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
        if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':') return std::nullopt;
        offset = (*oh * 3600 + *om * 60) * (s[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    // As timegm(3): a day past the month's end (Feb 31) rolls over into the next month.
    return (days_from_civil(*year, static_cast<unsigned>(*mon), 1) + (*day - 1)) * 86400 +
           *hour * 3600 + *min * 60 + *sec - offset;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

std::string format_date(std::int64_t days) {
    const CivilDate c = civil_from_days(days);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(c.year),
                  static_cast<int>(c.month), static_cast<int>(c.day));
    return buf;
}

}  // namespace audit::core
