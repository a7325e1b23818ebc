// Trust-store certificates: the CA anchors a host trusts, decoded so that a root installed for TLS
// inspection is found by its subject (store keys are named by thumbprint, anchor files by
// whatever the installer chose).
//   Linux: /usr/local/share/ca-certificates, /etc/ssl/certs, /etc/pki/ca-trust/source/anchors and
//          /etc/ca-certificates/trust-source/anchors (PEM files and bundles, DER files; links
//          followed inside the root; subdirectories to depth 8).
//   Windows (offline root): the registry certificate stores below
//          HKLM SOFTWARE\Microsoft\SystemCertificates,
//          HKLM SOFTWARE\Policies\Microsoft\SystemCertificates,
//          HKLM SOFTWARE\Microsoft\EnterpriseCertificates, and each user's NTUSER.DAT
//          Software\Microsoft\SystemCertificates and
//          Software\Policies\Microsoft\SystemCertificates: <store>\Certificates\<SHA-1>\Blob
//          (formats/certstore.h).
// Items: ecosystem "certificate", name = subject CN (the subject when it has no CN), one per
// certificate per store (a Linux certificate found in several files of one store directory is
// one item listing them in extra.files); extra: store, subject, subject_cn, issuer, issuer_cn,
// serial, sha1, sha256, and files (Linux) or registry_key (Windows). A store that exists but
// cannot be read completely fails the source: never an empty store.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class TrustStoreSource final : public BasicSource {
  public:
    std::string_view name() const override { return "trust-store"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

}  // namespace audit::sources
