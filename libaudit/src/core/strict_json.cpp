#include "audit/strict_json.h"

#include <set>
#include <vector>

#include "audit/error.h"

namespace audit {

nlohmann::json parse_json_strict(std::string_view text, std::string_view what, int max_depth) {
    using nlohmann::json;
    // The keys seen so far in each open object, innermost last. A key event always belongs to
    // the innermost open container, which then is an object.
    std::vector<std::set<std::string>> keys;
    int depth = 0;
    auto fail = [&](const std::string& why) { throw VerifyError(std::string(what) + ": " + why); };
    json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (++depth > max_depth)
                    fail("JSON nested deeper than " + std::to_string(max_depth) + " levels");
                if (event == json::parse_event_t::object_start) keys.emplace_back();
                break;
            case json::parse_event_t::object_end:
                --depth;
                if (!keys.empty()) keys.pop_back();
                break;
            case json::parse_event_t::array_end:
                --depth;
                break;
            case json::parse_event_t::key:
                if (keys.empty() || !parsed.is_string()) fail("malformed JSON object");
                if (!keys.back().insert(parsed.get_ref<const std::string&>()).second)
                    fail("duplicate key \"" + parsed.get<std::string>().substr(0, 80) +
                         "\" in a JSON object (refused: readers disagree on which value counts)");
                break;
            case json::parse_event_t::value:
                break;
        }
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                           /*ignore_comments=*/false);
    } catch (const json::parse_error& e) {
        // Position only: the library's text quotes the input (unbounded, maybe binary).
        fail("not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")");
    } catch (const json::exception&) {
        fail("not valid JSON");
    }
    return {};  // unreachable
}

}  // namespace audit
