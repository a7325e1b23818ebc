#!/usr/bin/env bash
# Every Linux source on one root built with the ecosystems' own tools where Debian has them
# (pacman -U, systemctl --root enable, pip install --target, npm install -g, gcc/objcopy + xz for
# a module that Debian's modinfo reads) and from the documented formats where it has not (apk,
# snap, flatpak, SysV rc links). A Kaspersky unit, init script, module and repackaged pacman
# package are found; coverage.json lists each source's status; the SBOM carries every source's
# items with purls. After removal the product is gone (attest -> removed). An unreadable pacman
# database makes the product's coverage insufficient, never "absent".
source "$(dirname "$0")/lib.sh"

new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
R="$T/host"

step "fixture root: dpkg, pacman, apk, snap, flatpak, systemd, sysv, kmod, python, npm"
bash "$FIXTURES/dpkg-root.sh" init "$R"
pkg=$(bash "$FIXTURES/pacman-root.sh" build "$T/pkgs" kesl 11.1.0-1 "Repackager <r@example.invalid>" /opt/kaspersky/kesl/bin/kesl-repack)
bash "$FIXTURES/pacman-root.sh" install "$R" "$pkg"
pkg=$(bash "$FIXTURES/pacman-root.sh" build "$T/pkgs" libfoo 1.0-1 "Someone <s@example.invalid>" /usr/lib/libfoo.so.1)
bash "$FIXTURES/pacman-root.sh" install "$R" "$pkg"
mkdir -p "$R/lib/apk/db"
printf 'P:musl\nV:1.2.4-r2\nA:x86_64\nm:Timo <t@example.invalid>\nF:lib\nR:ld-musl-x86_64.so.1\n\n' >"$R/lib/apk/db/installed"
mkdir -p "$R/var/lib/snapd" "$R/snap/hello-world/29/meta"
echo '{"data":{"snaps":{"hello-world":{"type":"app","sequence":[{"name":"hello-world","snap-id":"X","revision":"29"}],"active":true,"current":"29"}}}}' >"$R/var/lib/snapd/state.json"
printf 'name: hello-world\nversion: 6.4\nsummary: The hello-world snap\n' >"$R/snap/hello-world/29/meta/snap.yaml"
ln -s 29 "$R/snap/hello-world/current"
fp="$R/var/lib/flatpak/app/org.example.Hello/x86_64/stable"
mkdir -p "$fp/abc123"
printf '[Application]\nname=org.example.Hello\nruntime=org.freedesktop.Platform/x86_64/23.08\n' >"$fp/abc123/metadata"
ln -s abc123 "$fp/active"
mkdir -p "$R/usr/lib/systemd/system" "$R/etc/systemd/system"
printf '[Unit]\nDescription=Kaspersky Endpoint Security\n[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl_launcher.sh\n[Install]\nWantedBy=multi-user.target\n' \
    >"$R/usr/lib/systemd/system/kesl.service"
systemctl --root "$R" enable kesl.service 2>/dev/null
[[ -L "$R/etc/systemd/system/multi-user.target.wants/kesl.service" ]] || fail "systemctl did not enable kesl"
mkdir -p "$R/etc/init.d" "$R/etc/rc2.d"
printf '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: kav4fs-supervisor\n# Default-Start: 2 3 4 5\n### END INIT INFO\nDAEMON=/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor\n' \
    >"$R/etc/init.d/kav4fs-supervisor"
ln -s ../init.d/kav4fs-supervisor "$R/etc/rc2.d/S01kav4fs-supervisor"
bash "$FIXTURES/kmod-module.sh" "$T/mods" kav4fs_oas 8.0.4 "Kaspersky Lab"
mkdir -p "$R/lib/modules/6.1.0-13-amd64/extra"
cp "$T/mods/kav4fs_oas.ko.xz" "$R/lib/modules/6.1.0-13-amd64/extra/"
[[ $(modinfo -F version "$R/lib/modules/6.1.0-13-amd64/extra/kav4fs_oas.ko.xz") == 8.0.4 ]] || fail "modinfo cannot read the fixture"
bash "$FIXTURES/python-site.sh" "$R/usr/lib/python3/dist-packages" hello-py 0.1 "Someone"
if command -v npm >/dev/null; then
    mkdir -p "$T/npm/src"
    echo '{"name":"hello-npm","version":"1.0.0","author":"Someone"}' >"$T/npm/src/package.json"
    tgz=$(cd "$T/npm/src" && npm --cache "$T/npm/cache" pack --silent --pack-destination "$T/npm")
    npm --cache "$T/npm/cache" --loglevel=error --no-audit --no-fund install -g --offline --prefix "$R/usr" "$T/npm/$tgz" >/dev/null
else  # written from npm's layout where npm itself is missing
    mkdir -p "$R/usr/lib/node_modules/hello-npm"
    echo '{"name":"hello-npm","version":"1.0.0","author":"Someone"}' >"$R/usr/lib/node_modules/hello-npm/package.json"
fi

before=$(cd "$R" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
step "scan -> present (kesl unit, kav4fs-supervisor script), leads (module, pacman package)"
expect_exit 1 scan "$R"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not present"
rules=$(json_get "$T/scan1.json" "sorted({f['rule'] for f in d['findings']})")
for r in services services-legacy modules-unverified pacman-repackaged; do
    [[ $rules == *"'$r'"* ]] || fail "rule $r did not match: $rules"
done
json_get "$T/scan1.json" "[r['inventory']['ecosystem'] for f in d['findings'] if f['rule']=='services' for r in f['records'] if 'inventory' in r]" | grep -q systemd \
    || fail "the service rule did not match the systemd item"
json_get "$T/scan1.json" "[r['inventory']['ecosystem'] for f in d['findings'] if f['rule']=='modules-unverified' for r in f['records'] if 'inventory' in r]" | grep -q kmod \
    || fail "the module rule did not match the kmod item"
after=$(cd "$R" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"

bundle1=$(json_get "$T/scan1.json" "d['bundle']")
tar --zstd -xOf "$bundle1" coverage.json >"$T/coverage.json"
tar --zstd -xOf "$bundle1" sbom.cdx.json >"$T/sbom.json"
step "coverage.json lists every source with its status"
got=$(json_get "$T/coverage.json" "' '.join(s['name'] + '=' + s['status'] for s in d['sources'])")
want="dpkg=ran apk=ran pacman=ran snap=ran flatpak=ran systemd=ran sysv=ran kmod=ran live=absent python=ran npm=ran"
for w in $want; do [[ " $got " == *" $w "* ]] || fail "coverage: expected $w in: $got"; done

step "the SBOM lists every source's items with purls"
python3 - "$T/sbom.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bomFormat"] == "CycloneDX" and d["specVersion"] == "1.5"
comps = d["components"]
refs = [c["bom-ref"] for c in comps]
assert len(refs) == len(set(refs)), "duplicate bom-refs"
assert all(c.get("purl", "").startswith("pkg:") for c in comps), "component without purl"
purls = [c["purl"] for c in comps]
# The namespace is the root's os-release ID (debian here), as for dpkg.
want = ["pkg:alpm/debian/kesl@11.1.0-1", "pkg:apk/debian/musl@1.2.4-r2", "pkg:generic/snap/hello-world@6.4",
        "pkg:generic/flatpak/org.example.Hello", "pkg:generic/systemd/kesl.service",
        "pkg:generic/sysv/kav4fs-supervisor", "pkg:generic/kmod/kav4fs_oas@8.0.4", "pkg:pypi/hello-py@0.1",
        "pkg:npm/hello-npm@1.0.0"]
for w in want:
    assert any(p.startswith(w) for p in purls), f"no component {w}: {purls}"
kmod = [c for c in comps if c["purl"].startswith("pkg:generic/kmod/")][0]
assert kmod["type"] == "device-driver" and kmod["hashes"][0]["alg"] == "SHA-256", kmod
PY

step "the SBOM is valid against the official CycloneDX 1.5 schema; a broken one is not"
validate_sbom "$bundle1"
schema=$(cdx_schema)
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['components'][0]['type']='program'; d['components'][1]['hashes']=[{'alg':'SHA-256','content':'xyz'}]; json.dump(d,open(sys.argv[2],'w'))" "$T/sbom.json" "$T/sbom-broken.json"
if /usr/bin/python3 "$FIXTURES/cdx-validate.py" "$schema" "$T/sbom-broken.json" >"$T/cdx-errors.txt"; then
    fail "the validator accepted a component of type 'program' and a malformed hash"
fi
grep -q "program" "$T/cdx-errors.txt" || fail "validator did not name the bad type: $(cat "$T/cdx-errors.txt")"

step "remove: disable + delete the unit, the script and link, the module; pacman -R kesl"
systemctl --root "$R" disable kesl.service 2>/dev/null
rm -f "$R/usr/lib/systemd/system/kesl.service" "$R/etc/init.d/kav4fs-supervisor" "$R/etc/rc2.d/S01kav4fs-supervisor" \
    "$R/lib/modules/6.1.0-13-amd64/extra/kav4fs_oas.ko.xz"
bash "$FIXTURES/pacman-root.sh" remove "$R" kesl
expect_exit 0 scan "$R"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['findings']") == "[]" ]] || fail "findings after removal: $(cat "$T/scan2.json")"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results']]") == "['removed']" ]] \
    || fail "not removed: $(cat "$T/report/report.json")"

step "a left-behind enablement link is residue, not presence"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -s /usr/lib/systemd/system/kesl.service "$R/etc/systemd/system/multi-user.target.wants/kesl.service"
expect_exit 0 scan "$R"
[[ $(json_get "$T/out" "d['residue']") == "['kaspersky']" ]] || fail "dangling unit link not residue: $(cat "$T/out")"
rm "$R/etc/systemd/system/multi-user.target.wants/kesl.service"

step "an unreadable pacman database: source failed with the reason, coverage insufficient"
mv "$R/var/lib/pacman/local" "$T/local.saved"
mkfifo "$R/var/lib/pacman/local"
rc=0
scan "$R" >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 1 ]] || fail "scan with a failed pacman source exited $rc, not 1 (coverage insufficient)"
b=$(json_get "$T/out" "d['bundle']")
tar --zstd -xOf "$b" coverage.json >"$T/coverage2.json"
[[ $(json_get "$T/coverage2.json" "[s['status'] for s in d['sources'] if s['name']=='pacman'][0]") == failed ]] || fail "pacman not failed"
json_get "$T/coverage2.json" "[s['error'] for s in d['sources'] if s['name']=='pacman'][0]" | grep -q "local" || fail "no reason"
[[ $(json_get "$T/coverage2.json" "d['products'][0]['sufficient']") == False ]] || fail "coverage counted as sufficient"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report2" --json "$T"/evidence/*.evidence.tar.zst
json_get "$T/report2/report.json" "d['results'][0]['status'] + ' ' + str(d['results'][0]['reasons'])" | grep -q "inconclusive.*coverage_gap" \
    || fail "unreadable pacman db not inconclusive: $(cat "$T/report2/report.json")"
echo "PASS"
