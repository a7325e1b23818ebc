#include "audit/kit/kit_manifest.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <botan/hex.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "audit/core/hex.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/file_lock.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"
#include "audit/trust/state.h"

namespace audit::kit {

namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;
constexpr std::string_view kType = "audit-toolkit/kit-manifest";
constexpr std::string_view kStateType = "audit-toolkit/kit-state";
constexpr std::size_t kMaxManifest = 16u << 20;
constexpr std::size_t kMaxFiles = 100000;

bool excluded(const std::string& rel) {
    return rel == kKitManifestFile || rel == kEvidenceDir ||
           rel.rfind(std::string(kEvidenceDir) + "/", 0) == 0;
}

}  // namespace

json KitManifest::to_payload_json() const {
    json files_json = json::array();
    for (const auto& f : files)
        if (f.mode)
            files_json.push_back(
                {{"path", f.path}, {"size", f.size}, {"sha384", f.sha384}, {"mode", *f.mode}});
        else
            files_json.push_back({{"path", f.path}, {"size", f.size}, {"sha384", f.sha384}});
    json j = {{"_type", kType},
              {"kit_id", kit_id},
              {"version", version},
              {"created", created},
              {"expires", expires},
              {"authority", authority},
              {"trust_root", {{"version", trust_version}, {"sha256", trust_sha256}}},
              {"evidence_dir", kEvidenceDir},
              {"files", files_json},
              {"lms", nullptr}};
    if (!state_file.empty()) j["state_file"] = state_file;
    if (lms)
        j["lms"] = {{"scheme", kLmsScheme},
                    {"params", lms->params},
                    {"keyid", lms->keyid},
                    {"public", Botan::hex_encode(
                                   reinterpret_cast<const std::uint8_t*>(lms->public_key.data()),
                                   lms->public_key.size(), false)}};
    return j;
}

KitManifest KitManifest::from_payload_json(const json& j) {
    try {
        if (!j.is_object() || j.at("_type").get<std::string>() != kType)
            throw VerifyError("not a kit manifest");
        KitManifest m;
        m.kit_id = j.at("kit_id").get<std::string>();
        if (!evidence::valid_kit_id(m.kit_id))
            throw VerifyError("kit manifest has an invalid kit id");
        m.version = j.at("version").get<std::uint64_t>();
        m.created = j.at("created").get<std::string>();
        m.expires = j.at("expires").get<std::string>();
        if (!trust::is_rfc3339_utc(m.created) || !trust::is_rfc3339_utc(m.expires))
            throw VerifyError("kit manifest times are not RFC 3339 UTC");
        m.authority = j.at("authority").get<std::string>();
        m.trust_version = j.at("trust_root").at("version").get<int>();
        m.trust_sha256 = j.at("trust_root").at("sha256").get<std::string>();
        const auto& files = j.at("files");
        if (!files.is_array() || files.size() > kMaxFiles)
            throw VerifyError("kit manifest file list is malformed");
        std::set<std::string> seen;
        for (const auto& f : files) {
            KitFile k{f.at("path").get<std::string>(), f.at("size").get<std::uint64_t>(),
                      f.at("sha384").get<std::string>(), std::nullopt};
            if (!safe_relative_path(k.path) || excluded(k.path))
                throw VerifyError("kit manifest lists an unsafe path '" + k.path + "'");
            if (!core::is_lower_hex(k.sha384, 96))
                throw VerifyError("kit manifest: " + k.path + " has no SHA-384 digest");
            if (f.contains("mode")) {
                k.mode = f.at("mode").get<unsigned>();
                if (*k.mode > 0777)
                    throw VerifyError("kit manifest: " + k.path +
                                      " has a mode beyond rwx bits (setuid, setgid, sticky)");
            }
            if (!seen.insert(k.path).second)
                throw VerifyError("kit manifest lists " + k.path + " twice");
            m.files.push_back(std::move(k));
        }
        if (j.contains("state_file") && !j["state_file"].is_null()) {
            m.state_file = j["state_file"].get<std::string>();
            // Only the collector key's state, in keys/, and never a sealed file.
            if (m.state_file != kit_state_file(m.kit_id) || seen.count(m.state_file))
                throw VerifyError("kit manifest names '" + m.state_file.substr(0, 80) +
                                  "' as mutable; only " + kit_state_file(m.kit_id) + " may be");
        }
        if (j.contains("lms") && !j["lms"].is_null()) {
            json pub = {{"_type", "audit-toolkit/hss-lms-public-key"},
                        {"keyid", j["lms"].at("keyid")},
                        {"params", j["lms"].value("params", "")},
                        {"public", j["lms"].at("public")}};
            m.lms = LmsPublicKey::from_json(pub.dump());
        }
        return m;
    } catch (const json::exception& e) {
        throw VerifyError(std::string("kit manifest is malformed: ") + e.what());
    }
}

const KitFile* KitManifest::find(std::string_view path) const {
    for (const auto& f : files)
        if (f.path == path) return &f;
    return nullptr;
}

std::string file_sha384(const std::string& path) {
    return evidence::file_digest(path, "SHA-384");
}

bool keeps_unix_modes(const std::string& dir) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return true;
    constexpr long kMsdos = 0x4d44;       // MSDOS_SUPER_MAGIC: vfat, msdos
    constexpr long kExfat = 0x2011BAB0L;  // EXFAT_SUPER_MAGIC
    const auto type = static_cast<long>(fs.f_type);
    return type != kMsdos && type != kExfat;
}

namespace {

// The mode of a kit entry that must never be there: setuid or setgid (a kit is carried between
// hosts and run as root; nothing on it may carry privileges).
bool privileged_mode(const struct stat& st) {
    return (st.st_mode & (S_ISUID | S_ISGID)) != 0;
}

}  // namespace

std::vector<KitFile> measure_tree(const std::string& kit_dir) {
    const bool modes = keeps_unix_modes(kit_dir);
    std::vector<KitFile> out;
    std::error_code ec;
    stdfs::recursive_directory_iterator it(kit_dir, ec), end;
    if (ec) throw IoError("cannot read kit directory " + kit_dir + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw IoError("cannot read kit directory " + kit_dir + ": " + ec.message());
        const std::string rel = stdfs::relative(it->path(), kit_dir).generic_string();
        if (excluded(rel)) {
            if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
            continue;
        }
        const std::string full = it->path().string();
        struct stat st {};
        if (::lstat(full.c_str(), &st) != 0)
            throw IoError("cannot read " + full + ": " + std::strerror(errno));
        if (privileged_mode(st))
            throw VerifyError(full + " has a setuid or setgid bit (refused on a kit)");
        if (S_ISDIR(st.st_mode)) continue;
        if (!S_ISREG(st.st_mode))
            throw VerifyError(kit_dir + "/" + rel + " is not a regular file (links are refused)");
        if (out.size() >= kMaxFiles) throw VerifyError("kit directory has too many files");
        KitFile f{rel, static_cast<std::uint64_t>(st.st_size), file_sha384(full), std::nullopt};
        if (modes) f.mode = static_cast<unsigned>(st.st_mode & 0777);
        out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(),
              [](const KitFile& a, const KitFile& b) { return a.path < b.path; });
    return out;
}

std::string sign_kit_manifest(const KitManifest& m, const trust::TrustRoot& trust,
                              const crypto::SigningKey& kit_key, LmsSigner* lms) {
    const auto& ids = trust.roles.at("kit").keyids;
    if (std::find(ids.begin(), ids.end(), kit_key.identity().keyid) == ids.end())
        throw UsageError("key " + kit_key.identity().keyid.substr(0, 16) +
                         " is not a kit key of the trust root");
    if (lms && (!m.lms || m.lms->keyid != lms->public_key().keyid))
        throw UsageError("the kit manifest does not name the HSS/LMS seal key");
    crypto::Envelope env;
    env.payload_type = std::string(kKitManifestPayloadType);
    env.payload = m.to_payload_json().dump(2) + "\n";
    env.sign(kit_key);
    // The stateful signature last: nothing after it can fail and waste the index for nothing.
    if (lms)
        env.signatures.push_back(
            {lms->public_key().keyid, lms->sign(crypto::pae(env.payload_type, env.payload))});
    return env.to_json() + "\n";
}

SealedKit verify_kit_manifest(std::string_view envelope_json, const trust::TrustRoot& trust,
                              const KitVerifyOptions& options) {
    auto env = crypto::Envelope::parse(envelope_json, kMaxManifest);
    if (env.payload_type != kKitManifestPayloadType)
        throw VerifyError("not a kit manifest (payloadType '" + env.payload_type.substr(0, 80) +
                          "')");
    SealedKit out;
    out.signers = trust.verify_role(env, "kit");
    auto j = parse_json_strict(env.payload, "kit manifest payload");
    out.manifest = KitManifest::from_payload_json(j);
    const auto& m = out.manifest;
    if (m.authority != trust.authority)
        throw VerifyError("kit " + m.kit_id + " belongs to authority " + m.authority +
                          ", not to the trust root's " + trust.authority);
    const std::string now = options.now ? *options.now : trust::utc_now();
    if (now >= m.expires)
        throw VerifyError("kit " + m.kit_id + " version " + std::to_string(m.version) +
                          " expired on " + m.expires + " (a newer kit is needed)");
    if (options.required_lms && (!m.lms || m.lms->keyid != options.required_lms->keyid))
        throw VerifyError("kit " + m.kit_id + " is not sealed with the HSS/LMS key " +
                          options.required_lms->keyid.substr(0, 16));
    if (m.lms) {
        const std::string message = crypto::pae(env.payload_type, env.payload);
        bool ok = false;
        for (const auto& s : env.signatures)
            if (s.keyid == m.lms->keyid && m.lms->verify(message, s.sig)) ok = true;
        if (!ok)
            throw VerifyError("kit " + m.kit_id + ": the HSS/LMS seal " +
                              m.lms->keyid.substr(0, 16) + " is missing or does not verify");
        out.lms_sealed = true;
    }
    return out;
}

SealedKit load_kit(const std::string& kit_dir, const trust::TrustRoot& trust,
                   const KitVerifyOptions& options) {
    const std::string path = kit_dir + "/" + std::string(kKitManifestFile);
    const std::string text =
        read_input_file_within<VerifyError>(path, kMaxManifest, "kit file", ": file is too large");
    try {
        auto kit = verify_kit_manifest(text, trust, options);
        kit.sha256 = crypto::sha256_hex(text);
        return kit;
    } catch (const VerifyError& e) {
        throw VerifyError(path + ": " + e.what());
    }
}

std::vector<TreeProblem> compare_tree(const std::string& kit_dir, const KitManifest& m,
                                      bool* modes_compared) {
    std::vector<TreeProblem> problems;
    std::vector<KitFile> actual;
    std::set<std::string> listed;
    for (const auto& f : m.files) listed.insert(f.path);
    // Walk without trusting anything: links and special files are reported, not followed.
    std::error_code ec;
    stdfs::recursive_directory_iterator it(kit_dir, ec), end;
    if (ec) throw IoError("cannot read kit directory " + kit_dir + ": " + ec.message());
    std::set<std::string> present;
    std::map<std::string, bool> executable;  // rel -> any x bit, on the medium
    const bool modes = keeps_unix_modes(kit_dir);
    bool state_present = false;
    for (; it != end; it.increment(ec)) {
        if (ec) throw IoError("cannot read kit directory " + kit_dir + ": " + ec.message());
        const std::string rel = stdfs::relative(it->path(), kit_dir).generic_string();
        auto st = it->symlink_status(ec);
        struct stat raw {};
        if (::lstat(it->path().string().c_str(), &raw) == 0) {
            if (privileged_mode(raw))
                problems.push_back({rel, "setuid or setgid bit set (refused on a kit)"});
            executable[rel] = (raw.st_mode & 0111) != 0;
        }
        if (!m.state_file.empty() && rel == m.state_file) {
            // The one mutable file outside evidence/: present, a regular file, not measured.
            if (!stdfs::is_regular_file(st))
                problems.push_back({rel, "the kit's sequence state is not a regular file"});
            state_present = true;
            continue;
        }
        if (excluded(rel)) {
            if (rel == kEvidenceDir && !stdfs::is_directory(st))
                problems.push_back({rel, "not a directory"});
            if (stdfs::is_directory(st)) it.disable_recursion_pending();
            continue;
        }
        if (stdfs::is_directory(st)) continue;
        if (!stdfs::is_regular_file(st)) {
            problems.push_back({rel, "not a regular file"});
            continue;
        }
        if (!listed.count(rel)) {
            problems.push_back({rel, "not listed in the kit manifest"});
            continue;
        }
        present.insert(rel);
    }
    if (!m.state_file.empty() && !state_present)
        problems.push_back(
            {m.state_file, "missing: the kit's sequence state (made with the kit) was deleted"});
    for (const auto& f : m.files) {
        const std::string full = kit_dir + "/" + f.path;
        if (!present.count(f.path)) {
            problems.push_back({f.path, "missing"});
            continue;
        }
        if (stdfs::file_size(full, ec) != f.size) {
            problems.push_back({f.path, "size differs"});
            continue;
        }
        if (file_sha384(full) != f.sha384) {
            problems.push_back({f.path, "sha384 differs"});
            continue;
        }
    }
    // The executable bit, where the medium keeps modes. FAT keeps none: a mounted FAT stick shows
    // every file with the mount's fmask (all executable), a copy taken off it with mcopy or cp
    // shows none executable. A copy whose files all carry the same bit while the manifest seals
    // both kinds came from such a medium: its bits say nothing, and are not compared.
    std::set<bool> sealed_bits, seen_bits;
    for (const auto& f : m.files)
        if (f.mode && executable.count(f.path)) {
            sealed_bits.insert((*f.mode & 0111) != 0);
            seen_bits.insert(executable[f.path]);
        }
    const bool uniform = sealed_bits.size() == 2 && seen_bits.size() == 1;
    if (modes_compared) *modes_compared = modes && !uniform && !sealed_bits.empty();
    if (modes && !uniform)
        for (const auto& f : m.files) {
            if (!f.mode || !executable.count(f.path) || !present.count(f.path)) continue;
            if (executable[f.path] != ((*f.mode & 0111) != 0))
                problems.push_back({f.path, executable[f.path]
                                                ? "executable, but sealed as not executable"
                                                : "not executable, but sealed as executable"});
        }
    std::sort(problems.begin(), problems.end(),
              [](const TreeProblem& a, const TreeProblem& b) { return a.path < b.path; });
    return problems;
}

std::string default_kit_state_path() {
    return (stdfs::path(trust::default_state_path()).parent_path() / "kit-state.json").string();
}

namespace {

json load_kit_state(const std::string& state_path) {
    json state = {{"_type", kStateType}, {"kits", json::object()}};
    std::error_code ec;
    if (stdfs::exists(state_path, ec)) {
        state = json::parse(read_input_file_within<VerifyError>(state_path, kMaxManifest,
                                                                "kit file", ": file is too large"),
                            nullptr, false);
        if (state.is_discarded() || !state.is_object() || state.value("_type", "") != kStateType ||
            !state.contains("kits") || !state["kits"].is_object())
            throw VerifyError(state_path + ": not a kit state file (corrupt?); refusing to guess");
    }
    return state;
}

}  // namespace

std::vector<std::string> check_chain_head_seen(const evidence::ChainHead& head,
                                               const std::string& authority,
                                               const std::optional<std::string>& state_path) {
    if (!state_path) return {};
    audit::FileLock lock(*state_path);
    json state = load_kit_state(*state_path);
    if (!state.contains("heads") || !state["heads"].is_object()) state["heads"] = json::object();
    auto& heads = state["heads"];
    const std::string key = authority + "/" + head.kit_id;
    std::vector<std::string> notes;
    if (heads.contains(key)) {
        const auto& p = heads[key];
        if (!p.is_object() || !p.contains("sequence") || !p["sequence"].is_number_unsigned())
            throw VerifyError(*state_path + ": chain head entry of kit " + key + " is malformed");
        const auto have = p["sequence"].get<std::uint64_t>();
        if (head.sequence < have)
            throw VerifyError("chain of kit " + head.kit_id + ": the chain head names sequence " +
                              std::to_string(head.sequence) + ", a head of sequence " +
                              std::to_string(have) +
                              " was seen before (an older head: newer bundles deleted?)");
        if (head.sequence == have) {
            if (p.value("statement_sha256", "") != head.statement_sha256)
                throw VerifyError("chain of kit " + head.kit_id + ": the chain head of sequence " +
                                  std::to_string(have) +
                                  " differs from the one seen before (a fork)");
            return notes;
        }
    }
    heads[key] = {{"sequence", head.sequence},
                  {"statement_sha256", head.statement_sha256},
                  {"seen", trust::utc_now()}};
    evidence::write_file_atomic(*state_path, state.dump(2) + "\n", false, 0600);
    return notes;
}

std::vector<std::string> check_kit_version(const SealedKit& kit,
                                           const std::optional<std::string>& state_path) {
    if (!state_path) return {"no kit state: kit rollback protection is off"};
    const auto& m = kit.manifest;
    audit::FileLock lock(*state_path);
    json state = load_kit_state(*state_path);
    const std::string key = m.authority + "/" + m.kit_id;
    auto& kits = state["kits"];
    std::vector<std::string> notes;
    if (kits.contains(key)) {
        const auto& p = kits[key];
        if (!p.is_object() || !p.contains("version") || !p["version"].is_number_unsigned())
            throw VerifyError(*state_path + ": entry of kit " + key + " is malformed");
        const auto have = p["version"].get<std::uint64_t>();
        if (m.version < have)
            throw VerifyError("rollback: kit " + m.kit_id + " version " +
                              std::to_string(m.version) + " is older than version " +
                              std::to_string(have) + " already seen");
        if (m.version == have) {
            if (p.value("sha256", "") != kit.sha256)
                throw VerifyError("kit " + m.kit_id + " version " + std::to_string(have) +
                                  " differs from the version already seen (a fork)");
            return notes;
        }
        notes.push_back("kit " + m.kit_id + " updated from version " + std::to_string(have) +
                        " to " + std::to_string(m.version));
    } else {
        notes.push_back("first use of kit " + m.kit_id + ": pinned version " +
                        std::to_string(m.version));
    }
    kits[key] = {{"version", m.version}, {"sha256", kit.sha256}, {"seen", trust::utc_now()}};
    evidence::write_file_atomic(*state_path, state.dump(2) + "\n", false, 0600);
    return notes;
}

}  // namespace audit::kit
