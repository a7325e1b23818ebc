#include "audit/core/hex.h"

#include <cstdint>

#include <botan/hash.h>
#include <botan/hex.h>

namespace audit::core {

namespace {

std::string digest_hex(const char* algorithm, std::string_view bytes) {
    auto h = Botan::HashFunction::create_or_throw(algorithm);
    h->update(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return Botan::hex_encode(h->final(), false);
}

int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += kDigits[c >> 4];
        out += kDigits[c & 15];
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

bool is_lower_hex(std::string_view s, std::size_t length) {
    if (length != std::string_view::npos && s.size() != length) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool is_hex(std::string_view s) {
    for (char c : s)
        if (nibble(c) < 0) return false;
    return true;
}

std::string sha256_hex(std::string_view bytes) {
    return digest_hex("SHA-256", bytes);
}

std::string sha384_hex(std::string_view bytes) {
    return digest_hex("SHA-384", bytes);
}

}  // namespace audit::core
