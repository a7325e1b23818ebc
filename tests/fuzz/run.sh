#!/usr/bin/env bash
# Run every libFuzzer target (or the ones named) for SECONDS each, with seed corpora made at run
# time by the real tools' fixture generators (dpkg, rpm, db_load, pacman, gcc/objcopy, pip, hivex,
# plistlib, mingw-w64 + osslsigncode, openssl cms for Mach-O) and by
# the targets themselves (signed documents), then print executions, coverage and crashes per target.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]        default 60 s; targets: manifest, dpkg_status, ...
#
# Builds the fuzz preset first (clang, ASan + UBSan + libFuzzer; AUDIT_DEPS_DIR is passed on when
# set). Corpora and crash artifacts accumulate in build/fuzz/work/<target>/ across runs, and
# build/fuzz/work/history.tsv gets one line per run (UTC time, target, seconds, CPU seconds,
# executions, cov, ft, corpus, crashes) to sum a target's fuzzing across runs. Exits 1
# when any target crashed (the input is in work/<target>/crashes/; make it a regression test:
# tests/fuzz/regressions/<target>/), 0 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
seconds=${1:-60}
[[ $# -gt 0 ]] && shift
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: run.sh [SECONDS] [TARGET...]" >&2; exit 2; }

build=${AUDIT_FUZZ_BUILD:-$src/build/fuzz}
if [[ -z ${AUDIT_FUZZ_NO_BUILD:-} ]]; then
    cmake --preset fuzz ${AUDIT_DEPS_DIR:+-DAUDIT_DEPS_DIR=$AUDIT_DEPS_DIR} >/dev/null
    cmake --build "$build" --target fuzz -j"$(nproc)" >/dev/null
fi
work=$build/work
mkdir -p "$work"
export AUDIT_FUZZ_WORK=$work

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in "$build"/fuzz/*_fuzz; do targets+=("$(basename "${f%_fuzz}")"); done
fi

# --- seed corpora -------------------------------------------------------------------------------
fx=$src/tests/fixtures
tmp=$(mktemp -d /tmp/audit-fuzz-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
seed() { mkdir -p "$work/$1/corpus"; cp "${@:2}" "$work/$1/corpus/" 2>/dev/null || true; }
seed_text() { mkdir -p "$work/$1/corpus"; printf '%s' "$3" >"$work/$1/corpus/$2"; }

make_seeds() {
    local t=$1
    case $t in
    manifest) seed manifest "$src"/manifests/*.toml ;;
    dpkg_status)
        bash "$fx/dpkg-root.sh" init "$tmp/dpkg" >/dev/null
        for n in kesl klnagent; do
            deb=$(bash "$fx/dpkg-root.sh" build-deb "$tmp/debs" "$n" 1.2-3 "/opt/kaspersky/$n/bin/x")
            bash "$fx/dpkg-root.sh" install "$tmp/dpkg" "$deb" >/dev/null
        done
        bash "$fx/dpkg-root.sh" remove "$tmp/dpkg" klnagent >/dev/null
        seed dpkg_status "$tmp/dpkg/var/lib/dpkg/status" ;;
    rpm_*)
        if [[ ! -f $tmp/rpm/var/lib/rpm/rpmdb.sqlite ]]; then
            bash "$fx/rpm-root.sh" init "$tmp/rpm" >/dev/null
            rpmf=$(bash "$fx/rpm-root.sh" build-rpm "$tmp/rpms" kesl 11.1.0 42 /opt/kaspersky/kesl/bin/kesl)
            bash "$fx/rpm-root.sh" install "$tmp/rpm" "$rpmf" >/dev/null
            cp "$rpmf" "$tmp/kesl.rpm"
            bash "$fx/rpm-root.sh" to-bdb "$tmp/rpm/var/lib/rpm/rpmdb.sqlite" "$tmp/bdb" >/dev/null
            bash "$fx/rpm-root.sh" to-ndb "$tmp/rpm/var/lib/rpm/rpmdb.sqlite" "$tmp/ndb" >/dev/null
            sqlite3 "$tmp/rpm/var/lib/rpm/rpmdb.sqlite" \
                "SELECT writefile('$tmp/header-' || hnum, blob) FROM Packages" >/dev/null
        fi
        case $t in
        rpm_header) seed rpm_header "$tmp"/header-* "$tmp/kesl.rpm" ;;
        rpm_sqlite) seed rpm_sqlite "$tmp/rpm/var/lib/rpm/rpmdb.sqlite" ;;
        rpm_bdb) seed rpm_bdb "$tmp/bdb/Packages" ;;
        rpm_ndb) seed rpm_ndb "$tmp/ndb/Packages.db" ;;
        esac ;;
    apk)
        # No apk-tools in Debian: a stanza as apk writes it (lib/apk/db/installed).
        seed_text apk installed $'C:Q1abcdefghijklmnopqrstuvwxyz0123=\nP:kesl\nV:11.1.0-r0\nA:x86_64\nS:1234\nI:4096\nT:Kaspersky Endpoint Security\nU:https://example.invalid\nL:Proprietary\no:kesl\nm:Kaspersky Lab <support@kaspersky.com>\nt:1700000000\nF:opt/kaspersky/kesl/bin\nR:kesl\na:0:0:755\nZ:Q1abcdefghijklmnopqrstuvwxyz0123=\n\nP:musl\nV:1.2.4-r2\nA:x86_64\n\n' ;;
    pacman)
        pkg=$(bash "$fx/pacman-root.sh" build "$tmp/pkgs" kesl 11.1.0-1 "Kaspersky Lab" /opt/kaspersky/kesl/bin/kesl)
        bash "$fx/pacman-root.sh" install "$tmp/pac" "$pkg" >/dev/null
        for f in "$tmp"/pac/var/lib/pacman/local/kesl-*/{desc,files}; do
            cp "$f" "$tmp/pacman-$(basename "$f")"
        done
        seed pacman "$tmp"/pacman-* ;;
    kmod)
        bash "$fx/kmod-module.sh" "$tmp/ko" kl_fuzz 1.0 "Kaspersky Lab" >/dev/null
        seed kmod "$tmp"/ko/* ;;
    text_sources)
        bash "$fx/python-site.sh" "$tmp/site" kaspersky-fuzz 1.0 "Kaspersky Lab" >/dev/null
        seed text_sources "$tmp"/site/*.dist-info/METADATA
        for u in /lib/systemd/system/ssh.service /lib/systemd/system/cron.service \
                 /lib/systemd/system/getty@.service /etc/init.d/cron /etc/init.d/procps; do
            [[ -f $u ]] && cp "$u" "$work/text_sources/corpus/$(basename "$u")-seed" || true
        done
        seed_text text_sources package.json '{"name":"@kaspersky/x","version":"1.0.0","author":{"name":"Kaspersky Lab"},"description":"d"}'
        seed_text text_sources snap.yaml $'name: kaspersky\nversion: \'1.0\'\nsummary: "x"\napps:\n  k:\n    command: bin/k\n'
        seed_text text_sources state.json '{"data":{"snaps":{"kaspersky":{"type":"app","sequence":[{"name":"kaspersky","revision":"7"}],"active":true,"current":"7","channel":"stable"}}}}'
        seed_text text_sources metadata $'[Application]\nname=com.kaspersky.App\nruntime=org.freedesktop.Platform/x86_64/23.08\n\n[Context]\nshared=network;\n'
        seed_text text_sources appdata.xml '<component><releases><release version="1.2" date="2024-01-01"/></releases></component>' ;;
    regf)
        bash "$fx/windows-root.sh" layout "$tmp/win" kaspersky 0b5e7c1a-3f2d-4e6b-9a8c-1d2e3f405162 >/dev/null
        mkdir -p "$work/regf/corpus"
        for h in "$tmp"/win/Windows/System32/config/SOFTWARE "$tmp"/win/Windows/System32/config/SYSTEM \
                 "$tmp"/win/Users/alice/NTUSER.DAT; do
            [[ -f $h ]] && cp "$h" "$work/regf/corpus/$(basename "$h")"
        done ;;
    plist)
        bash "$fx/macos-root.sh" init "$tmp/mac" mac-fuzz >/dev/null
        bash "$fx/macos-root.sh" install-kaspersky "$tmp/mac" >/dev/null
        mkdir -p "$work/plist/corpus"
        i=0
        while IFS= read -r f; do
            i=$((i + 1))
            cp "$f" "$work/plist/corpus/seed-$i.plist"
        done < <(find "$tmp/mac" -type f -name '*.plist')
        ;;
    certstore)
        # openssl roots as a PEM file, DER and the registry Blob (tests/fixtures/trust-store.sh).
        bash "$fx/trust-store.sh" root "$tmp/kav.pem" "Kaspersky Anti-Virus Personal Root Certificate"
        bash "$fx/trust-store.sh" root "$tmp/fan.pem" "Kaspersky Lab Fan Club" "Example Org"
        cat "$tmp/kav.pem" "$tmp/fan.pem" >"$tmp/bundle.crt"
        bash "$fx/trust-store.sh" der "$tmp/kav.pem" "$tmp/kav.der"
        bash "$fx/trust-store.sh" blob "$tmp/kav.pem" "$tmp/kav.blob"
        seed certstore "$tmp/kav.pem" "$tmp/bundle.crt" "$tmp/kav.der" "$tmp/kav.blob" ;;
    pe)
        bash "$fx/pe-file.sh" ca "$tmp/pki" "/C=RU/O=AO Kaspersky Lab/CN=AO Kaspersky Lab" >/dev/null
        bash "$fx/pe-file.sh" build "$tmp/avp.exe" "AO Kaspersky Lab" "Kaspersky Endpoint Security" \
            "Kaspersky Anti-Virus service" avp.exe 11,11,0,452 >/dev/null
        bash "$fx/pe-file.sh" sign "$tmp/avp.exe" "$tmp/avp-signed.exe" "$tmp/pki" >/dev/null
        seed pe "$tmp/avp.exe" "$tmp/avp-signed.exe" ;;
    macho)
        # Signed by openssl cms (DER and BER), ad hoc, tampered, universal; and the bare CMS
        # blob, which the target also wraps into a signed file (macho_fuzz.cpp).
        python3 "$fx/macho-file.py" signer "$tmp/mpki" 2Y8XE5CQ94 >/dev/null
        python3 "$fx/macho-file.py" "$tmp/macho-der" --identifier com.x --team 2Y8XE5CQ94 --sign "$tmp/mpki"
        python3 "$fx/macho-file.py" "$tmp/macho-ber" --identifier com.x --team 2Y8XE5CQ94 --sign "$tmp/mpki" --ber
        python3 "$fx/macho-file.py" "$tmp/macho-fat" --identifier com.x --team 2Y8XE5CQ94 --sign "$tmp/mpki" --fat
        python3 "$fx/macho-file.py" "$tmp/macho-adhoc" --identifier com.x --team 2Y8XE5CQ94
        python3 "$fx/macho-file.py" "$tmp/macho-tampered" --identifier com.x --team 2Y8XE5CQ94 --sign "$tmp/mpki" --tamper
        python3 - "$tmp/macho-ber" "$tmp/macho-cms" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
i = b.find(bytes.fromhex("fade0b01"))
n = struct.unpack(">I", b[i + 4:i + 8])[0]
open(sys.argv[2], "wb").write(b[i + 8:i + n])
PY
        seed macho "$tmp"/macho-* ;;
    esac
}

# --- run ----------------------------------------------------------------------------------------
printf '%-14s %8s %8s %12s %8s %8s %8s %8s\n' target seconds cpu-s executions cov ft corpus crashes
crashed=0
TIMEFORMAT='%U %S'  # the fuzzer's user and system CPU seconds (it runs beside other work)
for t in "${targets[@]}"; do
    bin=$build/fuzz/${t}_fuzz
    [[ -x $bin ]] || { echo "no fuzz target $t ($bin)" >&2; exit 2; }
    d=$work/$t
    mkdir -p "$d/corpus" "$d/crashes"
    make_seeds "$t" || echo "warning: seeds for $t could not all be made" >&2
    # Targets whose inputs must be signed write their seeds from inside (same process, same keys).
    AUDIT_FUZZ_SEEDS=$d/corpus "$bin" -runs=0 "$d/corpus" >/dev/null 2>&1 || true
    dict=()
    case $t in
    certificate | trust_root | dsse | text_sources) dict=(-dict="$src/tests/fuzz/json.dict") ;;
    esac
    before=$(find "$d/crashes" -type f | wc -l)
    set +e
    { time AUDIT_FUZZ_SEEDS=$d/corpus "$bin" -max_total_time="$seconds" -timeout=20 \
        -rss_limit_mb=2048 -max_len=262144 "${dict[@]}" -print_final_stats=1 \
        -artifact_prefix="$d/crashes/" "$d/corpus" >"$d/last.log" 2>&1; } 2>"$d/last.cpu"
    rc=$?
    set -e
    cpu=$(awk '{printf "%d", $1 + $2}' "$d/last.cpu")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/last.log" | tail -1)
    line=$(grep -E '^#[0-9]+' "$d/last.log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$line")
    after=$(find "$d/crashes" -type f | wc -l)
    new=$((after - before))
    if [[ $rc -ne 0 ]]; then
        crashed=1
        [[ $new -eq 0 ]] && new="rc=$rc"
    fi
    printf '%-14s %8s %8s %12s %8s %8s %8s %8s\n' "$t" "$seconds" "$cpu" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$new"
    # Every run appended to one history, so cumulative fuzzing per target can be summed.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "$cpu" \
        "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$new" >>"$work/history.tsv"
    if [[ $rc -ne 0 ]]; then
        grep -E 'ERROR: |SUMMARY: |terminate called|what\(\)' "$d/last.log" | head -4 | sed 's/^/    /'
    fi
done
exit $crashed
