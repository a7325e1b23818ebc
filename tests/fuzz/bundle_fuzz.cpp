// The evidence bundle reader (tar + zstd, DSSE statement, streamed digest checks). The first
// input byte picks the layer: even = the .tar.zst file as is; odd = an uncompressed tar that the
// target compresses first, so mutations reach the tar headers and the entry checks.
#include <unistd.h>
#include <zstd.h>

#include <cstdlib>
#include <fstream>

#include "audit/evidence/bundle.h"
#include "authority.h"
#include "fuzz.h"

namespace bundle_fuzz_cases {  // one namespace per test file: unity builds compile several as one

namespace {

std::string scratch_path() {
    static const std::string p = [] {
        std::string t =
            (std::filesystem::temp_directory_path() / "audit-fuzz-bundle-XXXXXX").string();
        int fd = ::mkstemp(t.data());
        if (fd >= 0) ::close(fd);
        static std::string made = t;
        std::atexit([] { ::unlink(made.c_str()); });
        return t;
    }();
    return p;
}

// A bundle the reader accepts, so that mutations start past the signature and the predicate's
// shape check, in the tar entries and their digests. (The first seeds carried a predicate without
// bundle_id, host and findings: every input stopped at the shape check, before any entry was read.)
void write_seeds() {
    const auto& a = audit::fuzz::authority();
    std::map<std::string, std::string> files;
    for (const auto& name : audit::evidence::content_files())
        files[name] = name.ends_with(".jsonl") ? "{\"n\":1}\n" : "{}";
    const std::string now = audit::trust::utc_now();
    nlohmann::json predicate = {
        {"bundle_id", "fuzz-seed"},
        {"kit",
         {{"id", a.kit_id},
          {"sequence", 1},
          {"previous_bundle_sha256", nullptr},
          {"previous_statement_sha256", nullptr}}},
        {"host", {{"hostname", "fuzz-host"}, {"ids", {{"machine_id", std::string(32, 'a')}}}}},
        {"scan", {{"started", now}, {"finished", now}}},
        {"findings",
         {{"present", nlohmann::json::array()},
          {"residue", nlohmann::json::array()},
          {"leads", nlohmann::json::array()}}},
        {"coverage", nlohmann::json::object()},
        {"collector",
         {{"keyid", a.collector.identity().keyid},
          {"certificate", nlohmann::json::parse(a.certificate)}}}};
    const std::string dir = audit::fuzz::seed_dir();
    const std::string name = "seed.evidence.tar.zst";
    std::filesystem::remove(dir + "/" + name);
    audit::evidence::write_bundle(dir, name, files, predicate, a.collector, 0);
    // Throws (the unit test and the fuzz run's start fail) when the reader refuses the seed.
    audit::evidence::read_bundle(dir + "/" + name, a.trust, true);
    std::string zst = audit::fuzz::read_all(dir + "/" + name);
    std::filesystem::remove(dir + "/" + name);
    audit::fuzz::write_seed("bundle-zst", std::string(1, '\0') + zst);
    std::string tar(ZSTD_getFrameContentSize(zst.data(), zst.size()) == ZSTD_CONTENTSIZE_UNKNOWN
                        ? 1u << 20
                        : ZSTD_getFrameContentSize(zst.data(), zst.size()),
                    '\0');
    std::size_t n = ZSTD_decompress(tar.data(), tar.size(), zst.data(), zst.size());
    if (!ZSTD_isError(n)) {
        tar.resize(n);
        audit::fuzz::write_seed("bundle-tar", std::string(1, '\1') + tar);
    }
}

}  // namespace

AUDIT_FUZZ_SEEDS(bundle, write_seeds)

AUDIT_FUZZ_TARGET(bundle) {
    if (data.empty()) return;
    const bool compress = (static_cast<unsigned char>(data[0]) & 1) != 0;
    data.remove_prefix(1);
    std::string bytes(data);
    if (compress) {
        std::string out(ZSTD_compressBound(data.size()), '\0');
        std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 1);
        if (ZSTD_isError(n)) return;
        out.resize(n);
        bytes = std::move(out);
    }
    const std::string path = scratch_path();
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    audit::evidence::BundleLimits limits;
    limits.max_entry = 1u << 20;
    limits.max_kept_entry = 1u << 20;
    limits.max_statement = 1u << 20;
    audit::fuzz::expect_typed_errors(
        [&] { audit::evidence::read_bundle(path, audit::fuzz::authority().trust, true, limits); });
}

}  // namespace bundle_fuzz_cases
