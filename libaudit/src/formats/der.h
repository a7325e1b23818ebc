// A bounded DER reader (private to the formats area: CMS SignedData for Authenticode and Mach-O
// code signatures): tag-length-value over bytes, every length checked against what encloses it.
// Definite lengths only, unless a Reader is made for BER, which also takes the indefinite length
// of a constructed value (ended by an end-of-contents marker), as Apple's code signatures use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace audit::der {

// Universal and context tags used by PKCS#7 / X.509.
enum : std::uint8_t {
    kBoolean = 0x01,
    kInteger = 0x02,
    kBitString = 0x03,
    kOctetString = 0x04,
    kNull = 0x05,
    kOid = 0x06,
    kUtf8String = 0x0c,
    kPrintableString = 0x13,
    kT61String = 0x14,
    kIa5String = 0x16,
    kUtcTime = 0x17,
    kGeneralizedTime = 0x18,
    kUniversalString = 0x1c,
    kBmpString = 0x1e,
    kSequence = 0x30,
    kSet = 0x31,
    kContext0 = 0xa0,  // [0] constructed
    kContext1 = 0xa1,
};

struct Element {
    std::uint8_t tag = 0;
    std::string_view content;  // the value bytes (of an indefinite length: without the marker)
    std::string_view whole;    // tag + length + value (+ end-of-contents marker)
};

// Reads consecutive elements of one enclosing value. Throws UsageError("<what>: why").
class Reader {
  public:
    Reader(std::string_view bytes, std::string_view what, bool ber = false)
        : s_(bytes), what_(what), ber_(ber) {}
    bool done() const { return pos_ >= s_.size(); }
    // The next element's tag without consuming it; 0 when done.
    std::uint8_t peek() const;
    Element next();
    // The next element, which must carry tag.
    Element expect(std::uint8_t tag, std::string_view name);
    // Consumes the next element when it carries tag.
    bool optional(std::uint8_t tag, Element& out);

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
    std::string_view what_;
    bool ber_ = false;
};

// Dotted form of an OBJECT IDENTIFIER's content ("1.2.840.113549.1.7.2").
std::string oid(std::string_view content);
// A Name rendered as "C=RU, O=AO Kaspersky Lab, CN=AO Kaspersky Lab" (in encoded order, short
// names for common attributes, dotted OIDs otherwise, multi-valued RDNs joined by " + ").
std::string name(std::string_view name_content, std::string_view what);
// The value of the last CN attribute of a Name ("" when none).
std::string common_name(std::string_view name_content, std::string_view what);
// The values of every attribute of a Name with that type ("2.5.4.11": the OUs), in encoded order.
std::vector<std::string> attributes(std::string_view name_content, std::string_view oid,
                                    std::string_view what);
// Lower-case hex of an INTEGER's content, without the sign byte of a positive number.
std::string serial_hex(std::string_view integer_content);
std::string hex(std::string_view bytes);

}  // namespace audit::der
