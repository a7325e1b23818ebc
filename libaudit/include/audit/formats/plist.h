// Apple property lists: XML and binary ("bplist00") forms, parsed bounded from bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace audit::plist {

struct DictEntry;

struct Value {
    enum class Type { boolean, integer, real, string, data, date, array, dict, uid, null };
    Type type = Type::null;
    bool boolean = false;
    std::int64_t integer = 0;  // integer, uid
    double real = 0;           // real; date: seconds since 2001-01-01T00:00:00Z
    std::string text;          // string (UTF-8) or data (raw bytes)
    std::vector<Value> array;
    // In file order; keys are unique. Not std::pair<std::string, Value>: libstdc++'s pair needs a
    // complete Value, which clang (the fuzz build) enforces here.
    std::vector<DictEntry> dict;

    // Dict member, or nullptr (also when this is not a dict).
    const Value* find(std::string_view key) const;
    // The string value of a dict member, "" when missing or not a string.
    std::string string_at(std::string_view key) const;
    // The same structure as Python's plistlib reads it (data as {"data": base64}, dates as
    // {"date": "YYYY-MM-DDTHH:MM:SSZ"}, uids as {"uid": n}), for tests and evidence.
    nlohmann::json to_json() const;
};

struct DictEntry {
    std::string first;  // the key
    Value second;
};

// Either form, told apart by the "bplist00" magic. Throws UsageError "<origin>: why" on
// malformed input; bounds: 64 MiB of input, nesting depth 128, 1 000 000 values in all (a
// binary plist's shared references are counted each time they are used), no reference cycles.
Value parse(std::string_view bytes, std::string_view origin);
Value parse_xml(std::string_view bytes, std::string_view origin);
Value parse_binary(std::string_view bytes, std::string_view origin);

// "2024-01-02T03:04:05Z" for a plist date (seconds since 2001-01-01), whole seconds.
std::string format_date(double seconds_since_2001);

}  // namespace audit::plist
