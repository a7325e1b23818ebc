#include "audit/formats/decompress.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>

#include "audit/error.h"

namespace audit::sources {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::uint64_t kXzMemLimit = 256u << 20;  // the decoder's own dictionary memory

[[noreturn]] void too_large(std::size_t max_out) {
    throw UsageError("decompressed data is larger than " + std::to_string(max_out) + " bytes");
}

// Every decoder's output goes through here: never more than max_out bytes in all.
void append_bounded(std::string& out, const char* buf, std::size_t n, std::size_t max_out) {
    if (out.size() + n > max_out) too_large(max_out);
    out.append(buf, n);
}

std::string xz(std::string_view in, std::size_t max_out) {
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, kXzMemLimit, LZMA_CONCATENATED) != LZMA_OK)
        throw UsageError("xz: cannot initialise the decoder");
    std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&s, lzma_end);
    s.next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    s.avail_in = in.size();
    std::string out;
    char buf[kChunk];
    for (;;) {
        s.next_out = reinterpret_cast<std::uint8_t*>(buf);
        s.avail_out = sizeof buf;
        lzma_ret r = lzma_code(&s, LZMA_FINISH);
        append_bounded(out, buf, sizeof buf - s.avail_out, max_out);
        if (r == LZMA_STREAM_END) return out;
        if (r != LZMA_OK) {
            if (r == LZMA_BUF_ERROR) throw UsageError("xz: truncated data");
            throw UsageError("xz: corrupt data (lzma error " + std::to_string(r) + ")");
        }
    }
}

std::string zstd(std::string_view in, std::size_t max_out) {
    std::unique_ptr<ZSTD_DStream, std::size_t (*)(ZSTD_DStream*)> d(ZSTD_createDStream(),
                                                                    ZSTD_freeDStream);
    if (!d) throw UsageError("zstd: cannot initialise the decoder");
    // A window larger than 128 MiB is refused (the format allows up to 2 GiB on 64-bit).
    ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, 27);
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    std::string out;
    char buf[kChunk];
    // One decoder step: what it wrote into buf, and its hint (0: a frame is complete).
    auto step = [&](std::size_t& hint) {
        ZSTD_outBuffer ob{buf, sizeof buf, 0};
        hint = ZSTD_decompressStream(d.get(), &ob, &ib);
        if (ZSTD_isError(hint))
            throw UsageError(std::string("zstd: corrupt data (") + ZSTD_getErrorName(hint) + ")");
        append_bounded(out, buf, ob.pos, max_out);
        return ob.pos;
    };
    std::size_t last = 1;
    while (ib.pos < ib.size)
        if (step(last) == 0 && ib.pos == ib.size) break;
    // Flush what the decoder still holds.
    while (last != 0)
        if (step(last) == 0 && last != 0) throw UsageError("zstd: truncated data");
    return out;
}

std::string gzip(std::string_view in, std::size_t max_out) {
    z_stream s{};
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) throw UsageError("gzip: cannot initialise");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&s, inflateEnd);
    std::string out;
    char buf[kChunk];
    std::size_t pos = 0;
    for (;;) {
        // avail_in is 32-bit: feed large inputs in pieces.
        if (s.avail_in == 0 && pos < in.size()) {
            std::size_t n = std::min<std::size_t>(in.size() - pos, 1u << 30);
            s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
            s.avail_in = static_cast<uInt>(n);
            pos += n;
        }
        s.next_out = reinterpret_cast<Bytef*>(buf);
        s.avail_out = sizeof buf;
        int r = inflate(&s, Z_NO_FLUSH);
        append_bounded(out, buf, sizeof buf - s.avail_out, max_out);
        if (r == Z_STREAM_END) return out;
        if (r == Z_BUF_ERROR && s.avail_in == 0 && pos >= in.size())
            throw UsageError("gzip: truncated data");
        if (r != Z_OK && r != Z_BUF_ERROR)
            throw UsageError(std::string("gzip: corrupt data (") + (s.msg ? s.msg : "inflate") +
                             ")");
    }
}

}  // namespace

Codec sniff_codec(std::string_view d) {
    if (d.size() >= 6 && d.substr(0, 6) == std::string_view("\xFD"
                                                            "7zXZ\0",
                                                            6))
        return Codec::xz;
    if (d.size() >= 4 && d.substr(0, 4) == "\x28\xB5\x2F\xFD") return Codec::zstd;
    if (d.size() >= 2 && d.substr(0, 2) == "\x1F\x8B") return Codec::gzip;
    return Codec::none;
}

std::string decompress(std::string_view data, Codec codec, std::size_t max_out) {
    switch (codec) {
        case Codec::xz:
            return xz(data, max_out);
        case Codec::zstd:
            return zstd(data, max_out);
        case Codec::gzip:
            return gzip(data, max_out);
        case Codec::none:
            break;
    }
    if (data.size() > max_out) too_large(max_out);
    return std::string(data);
}

}  // namespace audit::sources
