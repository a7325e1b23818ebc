#include "audit/sources/trust_store.h"

#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>

#include "audit/error.h"
#include "audit/formats/certstore.h"
#include "audit/host/windows_registry.h"
#include "formats/text.h"
#include "sources/base.h"
#ifdef _WIN32
#include "sources/windows_live.h"
#endif

namespace audit::sources {

namespace {

using host::CaseInsensitivePaths;
using host::registry_text;
using text::warn;

// Bounds: a CA directory holds hundreds of files, a bundle a few hundred certificates.
constexpr std::size_t kMaxStoreFiles = 20000;             // files read over every directory
constexpr std::size_t kMaxStoreFileBytes = 8u << 20;      // one PEM bundle or DER file
constexpr std::size_t kMaxCertificatesPerFile = 10000;    // PEM blocks of one file
constexpr std::size_t kMaxStoreDepth = 8;                 // subdirectories below a store dir
constexpr std::size_t kMaxFilesPerItem = 16;              // files listed on one item
constexpr std::size_t kMaxRegistryCertificates = 100000;  // per hive
constexpr std::size_t kMaxStores = 1000;                  // store keys below one base key

// The Linux anchor directories: Debian's update-ca-certificates input (/usr/local/share/
// ca-certificates, subdirectories included) and output (/etc/ssl/certs: links and the
// ca-certificates.crt bundle; on Red Hat a link to /etc/pki/tls/certs), p11-kit's anchors on Red
// Hat (update-ca-trust) and Arch (trust anchor).
constexpr const char* kLinuxStores[] = {"/usr/local/share/ca-certificates", "/etc/ssl/certs",
                                        "/etc/pki/ca-trust/source/anchors",
                                        "/etc/ca-certificates/trust-source/anchors"};

// Registry locations of certificate stores: below each, <store>\Certificates\<SHA-1>\Blob.
struct RegistryBase {
    const char* subpath;  // in the hive
};
constexpr RegistryBase kMachineBases[] = {{"Microsoft\\SystemCertificates"},
                                          {"Policies\\Microsoft\\SystemCertificates"},
                                          {"Microsoft\\EnterpriseCertificates"}};
constexpr RegistryBase kUserBases[] = {{"Software\\Microsoft\\SystemCertificates"},
                                       {"Software\\Policies\\Microsoft\\SystemCertificates"}};

InventoryItem store_item(const certstore::Certificate& c, const std::string& store,
                         const std::string& source) {
    InventoryItem item;
    item.ecosystem = "certificate";
    item.name = c.subject_cn.empty() ? c.subject : c.subject_cn;
    item.state = "installed";
    item.source = source;
    item.extra["store"] = store;
    item.extra["subject"] = c.subject;
    item.extra["subject_cn"] = c.subject_cn;
    item.extra["issuer"] = c.issuer;
    item.extra["issuer_cn"] = c.issuer_cn;
    item.extra["serial"] = c.serial;
    item.extra["sha1"] = c.sha1;
    item.extra["sha256"] = c.sha256;
    return item;
}

struct Reading {
    SourceReport& rep;
    std::vector<std::string>& failures;  // a store not read completely: the source failed
    std::size_t files = 0, certificates = 0, not_certificates = 0;
};

// --- Linux: anchor directories ------------------------------------------------------------

class LinuxStore {
  public:
    LinuxStore(const fs::Root& root, Reading& r, std::string store)
        : root_(root), r_(r), store_(std::move(store)) {}

    // Reads the directory; false when it does not exist.
    bool read() {
        auto names = root_.list_dir(store_);  // throws when it exists but cannot be listed
        if (!names) return false;
        read_dir(store_, *names, 0);
        return true;
    }

    void emit(std::vector<InventoryItem>& out) {
        for (auto& [sha256, item] : items_) out.push_back(std::move(item));
    }

  private:
    const fs::Root& root_;
    Reading& r_;
    std::string store_;
    std::map<std::string, InventoryItem> items_;  // by sha256: one item per certificate

    void read_dir(const std::string& dir, const std::vector<std::string>& names,
                  std::size_t depth) {
        for (const auto& name : names) {
            const std::string path = dir + "/" + name;
            if (!text::safe_component(name)) {
                r_.failures.push_back(path + ": entry name that cannot be read safely");
                continue;
            }
            fs::UniqueFd fd = root_.open(path, false);
            if (!fd) {
                const int err = errno;
                if (err == EISDIR) {
                    if (depth >= kMaxStoreDepth) {
                        r_.failures.push_back(path + ": directories nested deeper than " +
                                              std::to_string(kMaxStoreDepth) + " not examined");
                        continue;
                    }
                    std::optional<std::vector<std::string>> sub;
                    try {
                        sub = root_.list_dir(path);
                    } catch (const Error& e) {
                        r_.failures.push_back(e.what());
                        continue;
                    }
                    if (sub) read_dir(path, *sub, depth + 1);
                } else if (err == ENOENT) {
                    // A link to nothing: update-ca-certificates leaves none; say so, it is not a
                    // certificate.
                    warn(r_.rep.warnings, path + ": link that leads nowhere inside the root");
                } else if (err != ENXIO) {  // FIFOs, sockets, devices are not certificates
                    r_.failures.push_back("cannot open " + path + ": " + std::strerror(err));
                }
                continue;
            }
            fd = fs::UniqueFd();
            read_file(path);
        }
    }

    void read_file(const std::string& path) {
        if (++r_.files > kMaxStoreFiles)
            throw IoError("more than " + std::to_string(kMaxStoreFiles) +
                          " files in the CA directories: certificates not all examined");
        std::optional<std::string> data;
        try {
            data = root_.read_file(path, kMaxStoreFileBytes);
        } catch (const Error& e) {
            r_.failures.push_back(e.what());  // too large or unreadable: not examined
            return;
        }
        if (!data) return;
        std::vector<std::string> ders;
        if (certstore::has_pem_certificate(*data)) {
            std::size_t malformed = 0;
            try {
                ders = certstore::pem_certificates(*data, kMaxCertificatesPerFile, malformed);
            } catch (const Error& e) {
                r_.failures.push_back(path + ": " + e.what());
                return;
            }
            if (malformed > 0)
                r_.failures.push_back(path + ": " + std::to_string(malformed) +
                                      " PEM certificate block(s) that cannot be decoded");
        } else if (!data->empty() && (*data)[0] == 0x30) {
            ders.push_back(std::move(*data));  // DER, or something else that starts alike
        } else {
            ++r_.not_certificates;  // README, a Java keystore, a CRL in PEM
            return;
        }
        for (std::size_t i = 0; i < ders.size(); ++i) {
            certstore::Certificate c;
            try {
                c = certstore::read_certificate(ders[i]);
            } catch (const Error& e) {
                if (ders.size() == 1 && !certstore::has_pem_certificate(*data)) {
                    ++r_.not_certificates;  // a DER file that is not a certificate (a CRL)
                    warn(r_.rep.warnings, path + ": not a DER certificate: " + e.what());
                } else {
                    r_.failures.push_back(path + " (certificate " + std::to_string(i + 1) +
                                          "): " + e.what());
                }
                continue;
            }
            ++r_.certificates;
            const std::string where = ders.size() > 1 ? path + "#" + std::to_string(i + 1) : path;
            auto [it, fresh] = items_.try_emplace(c.sha256);
            if (fresh) {
                it->second = store_item(c, store_, where);
                it->second.extra["files"] = nlohmann::json::array();
            }
            auto& files = it->second.extra["files"];
            if (files.size() < kMaxFilesPerItem)
                files.push_back(where);
            else
                it->second.extra["files_truncated"] = true;
        }
    }
};

// --- Windows: registry certificate stores --------------------------------------------------

// One <store>\Certificates\<key> of a registry store (from a hive file or the live registry):
// its Blob's certificate as an item; an undecodable one is a failure (it could be the product's
// root: unread is not absent), a key without a Blob a warning.
void registry_entry(const std::string& store_key, const std::string& key_name,
                    const std::optional<std::string>& blob, const std::string& origin, Reading& r,
                    std::vector<InventoryItem>& out) {
    const std::string reg_key = store_key + "\\Certificates\\" + registry_text(key_name);
    if (!blob) {
        ++r.not_certificates;
        warn(r.rep.warnings, origin + ":" + reg_key + ": no Blob value");
        return;
    }
    certstore::Certificate c;
    try {
        c = certstore::read_certificate(certstore::blob_certificate(*blob));
    } catch (const Error& e) {
        r.failures.push_back(origin + ":" + reg_key + ": " + e.what());
        return;
    }
    ++r.certificates;
    InventoryItem item = store_item(c, store_key, origin + ":" + reg_key);
    item.extra["registry_key"] = reg_key;
    if (!text::lower(key_name).empty() && text::lower(key_name) != c.sha1)
        warn(r.rep.warnings,
             origin + ":" + reg_key + ": key name is not the certificate's SHA-1 " + c.sha1);
    out.push_back(std::move(item));
}

void read_registry_stores(const regf::Hive& hive, const RegistryBase* bases, std::size_t n,
                          const std::string& key_prefix, const std::string& origin, Reading& r,
                          std::vector<InventoryItem>& out) {
    std::size_t count = 0;
    for (std::size_t b = 0; b < n; ++b) {
        const std::string base_path = bases[b].subpath;
        try {
            auto base = hive.find(base_path);
            if (!base) continue;
            const auto stores = hive.subkeys(*base);
            if (stores.size() > kMaxStores)
                throw regf::HiveError(base_path + ": more than " + std::to_string(kMaxStores) +
                                      " stores");
            for (const auto& store : stores) {
                auto certs = hive.find(store, "Certificates");
                if (!certs) continue;
                const std::string store_key =
                    key_prefix + "\\" + base_path + "\\" + registry_text(store.name);
                for (const auto& key : hive.subkeys(*certs)) {
                    if (++count > kMaxRegistryCertificates)
                        throw regf::HiveError("more than " +
                                              std::to_string(kMaxRegistryCertificates) +
                                              " certificates");
                    auto blob = hive.value(key, "Blob");
                    registry_entry(store_key, key.name,
                                   blob ? std::optional<std::string>(blob->data) : std::nullopt,
                                   origin, r, out);
                }
            }
        } catch (const Error& e) {
            r.failures.push_back(origin + " " + base_path + ": " + e.what());
        }
    }
}

#ifdef _WIN32
// The running Windows (audit-scan.exe on its own system drive): the kernel holds the hive files
// open, so the machine's stores and those of every loaded user hive are read through the
// registry API; a profile whose hive is not loaded, from its NTUSER.DAT as offline.
void read_windows_live(const fs::Root& root, Reading& r, std::vector<InventoryItem>& out) {
    const std::string origin = "live registry";
    const auto stores = [&](const std::string& sid, const RegistryBase* bases, std::size_t n,
                            const std::string& key_prefix) {
        for (std::size_t b = 0; b < n; ++b) {
            const std::string base_path = bases[b].subpath;
            try {
                windows_live::certificate_stores(
                    sid, base_path, kMaxStores, kMaxRegistryCertificates,
                    [&](const std::string& store, const std::string& key,
                        const std::optional<std::string>& blob) {
                        registry_entry(key_prefix + "\\" + base_path + "\\" + registry_text(store),
                                       key, blob, origin, r, out);
                    });
            } catch (const Error& e) {
                r.failures.push_back(origin + " " + key_prefix + "\\" + base_path + ": " +
                                     e.what());
            }
        }
    };
    stores("", kMachineBases, std::size(kMachineBases), "HKLM\\SOFTWARE");
    auto hives = windows_live::user_hives();
    for (auto& f : hives.failures) r.failures.push_back(std::move(f));
    for (const auto& sid : hives.loaded)
        stores(sid, kUserBases, std::size(kUserBases), "HKU\\" + registry_text(sid));
    CaseInsensitivePaths paths(root);
    for (const auto& u : hives.unloaded) {
        auto h = host::load_hive(root, paths, u.ntuser);
        if (!h.hive) {
            if (!h.error.empty())
                r.failures.push_back(h.origin + " (profile " + u.sid + ", not loaded): " + h.error);
            continue;
        }
        hive_state(h, r.rep.warnings, r.failures);
        read_registry_stores(*h.hive, kUserBases, std::size(kUserBases),
                             "HKU\\" + registry_text(u.sid), h.origin, r, out);
    }
}
#endif

// True when the root is a Windows system disk (its stores were read, or failed).
bool read_windows(const fs::Root& root, Reading& r, std::vector<InventoryItem>& out) {
#ifdef _WIN32
    if (root.is_live()) {
        read_windows_live(root, r, out);
        return true;
    }
#endif
    CaseInsensitivePaths paths(root);
    if (!paths.find(host::kWindowsConfigDir)) return false;
    auto h = host::load_hive(root, paths, std::string(host::kWindowsConfigDir) + "/SOFTWARE");
    if (!h.hive) {
        r.failures.push_back(h.error.empty() ? "Windows root without a SOFTWARE hive"
                                             : h.origin + ": " + h.error);
    } else {
        hive_state(h, r.rep.warnings, r.failures);
        read_registry_stores(*h.hive, kMachineBases, std::size(kMachineBases), "HKLM\\SOFTWARE",
                             h.origin, r, out);
    }
    for_each_user_hive(root, paths, r.failures,
                       [&](const std::string& user, const host::LoadedHive& u) {
                           hive_state(u, r.rep.warnings, r.failures);
                           read_registry_stores(*u.hive, kUserBases, std::size(kUserBases),
                                                "HKU\\" + registry_text(user), u.origin, r, out);
                       });
    return true;
}

}  // namespace

void TrustStoreSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    Reading r{rep, c.failures};
    std::vector<InventoryItem>& items = c.items;
    bool any = false;
    try {
        for (const char* dir : kLinuxStores) {
            LinuxStore store(root, r, dir);
            try {
                if (!store.read()) continue;
            } catch (const Error& e) {
                r.failures.push_back(e.what());  // what was read is still reported
            }
            any = true;
            store.emit(items);
        }
        any = read_windows(root, r, items) || any;
    } catch (const Error& e) {
        r.failures.push_back(e.what());
        any = true;
    }
    warn(rep.warnings, std::to_string(r.certificates) + " certificates read from " +
                           std::to_string(r.files) + " files and the registry stores, " +
                           std::to_string(r.not_certificates) + " entries not certificates");
    c.found = any;
}

}  // namespace audit::sources
