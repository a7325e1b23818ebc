#!/usr/bin/env bash
# The default manifest set (issue 18): `manifests/` holds kaspersky.toml and
# kaspersky-technology.toml, so a scan with the shipped manifests reports Kaspersky technology
# inside another vendor's product (the 2024 BIS determination covers white-label products) under
# its own product id, with the owning package named, and never as the vendor's endpoint product.
# Each attestation row names the manifest it rests on (product id, version, SHA-256), so an
# "absent" for kaspersky says what it covers and nothing more.
#   A real .deb "acme-gateway" (maintainer Acme Networks) ships the SDK's appinfo.kli under
#   /opt/acme: present for kaspersky-technology, owned_by acme-gateway; kaspersky absent.
#   Purged: kaspersky-technology removed, kaspersky still absent.
source "$(dirname "$0")/lib.sh"

step "authority with the shipped manifests (every manifests/*.toml)"
new_authority "$T/auth" $(cd "$MANIFESTS" && ls -- *.toml)
TRUST="$T/auth/trust.json"
ls "$T/auth/manifests"/*.toml | xargs -n1 basename | sort >"$T/loaded"
[[ $(cat "$T/loaded") == $'kaspersky-technology.toml\nkaspersky.toml' ]] \
    || fail "the default set is not kaspersky.toml + kaspersky-technology.toml: $(cat "$T/loaded")"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
attest() { audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --json --out "$T/report" "$T"/evidence/*.evidence.tar.zst; }

step "fixture: acme-gateway (not the vendor's) ships the Anti-Virus SDK's appinfo.kli"
deb=$(DEB_MAINTAINER="Acme Networks <support@acme.example>" bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" acme-gateway 3.1-1 \
    /opt/acme/engine/ppl/appinfo.kli /opt/acme/bin/gateway)
H="$T/gw"
bash "$FIXTURES/dpkg-root.sh" init "$H"
bash "$FIXTURES/dpkg-root.sh" install "$H" "$deb"
host=$(cat "$H/etc/hostname")

step "scan: kaspersky-technology present, owned by acme-gateway; kaspersky not"
expect_exit 1 scan "$H"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky-technology']" ]] \
    || fail "the technology is not reported with the default set: $(cat "$T/scan1.json")"
python3 - "$T/scan1.json" <<'PY' || fail "technology finding not as expected: $(cat "$T/scan1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["product"] == "kaspersky-technology" and f["rule"] == "sdk-license-files"]
assert len(f) == 1 and f[0]["family"] == "oem-technology" and not f[0]["residue"], f
r = f[0]["records"]
assert [x["file"]["path"] for x in r] == ["/opt/acme/engine/ppl/appinfo.kli"], r
assert r[0]["owned_by"]["name"] == "acme-gateway", r
assert not any(x["product"] == "kaspersky" and not x["residue"] and x["confidence"] != "weak"
               for x in d["findings"]), d["findings"]
PY

step "attest: one row per manifest, each naming the manifest it rests on"
set +e; attest >/dev/null 2>"$T/err"; set -e
python3 - "$T/report/report.json" "$host" "$T/auth/manifests" <<'PY' || fail "attestation rows not as expected: $(cat "$T/report/report.json")"
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
rows = {r["product"]: r for r in d["results"] if r["hostname"] == sys.argv[2]}
assert sorted(rows) == ["kaspersky", "kaspersky-technology"], rows
assert rows["kaspersky-technology"]["status"] == "present", rows["kaspersky-technology"]
assert rows["kaspersky"]["status"] == "absent", rows["kaspersky"]
for product, name in (("kaspersky", "kaspersky.toml"), ("kaspersky-technology", "kaspersky-technology.toml")):
    digest = hashlib.sha256(open(sys.argv[3] + "/" + name, "rb").read()).hexdigest()
    assert {m["sha256"] for m in rows[product]["manifest_versions"]} == {digest}, (product, rows[product]["manifest_versions"])
PY

step "purged: kaspersky-technology removed, kaspersky absent"
bash "$FIXTURES/dpkg-root.sh" purge "$H" acme-gateway
expect_exit 0 scan "$H"
expect_exit 0 attest
[[ $(json_get "$T/report/report.json" "sorted((r['product'], r['status']) for r in d['results'] if r['hostname']=='$host')") == \
   "[('kaspersky', 'absent'), ('kaspersky-technology', 'removed')]" ]] \
    || fail "not removed/absent after purge: $(cat "$T/report/report.json")"
echo OK
