#!/usr/bin/env bash
# Fleet-scale benchmark (not a test): synthetic signed bundles for N hosts (audit-fleet-gen), then
# `audit-attest import` into a fresh ledger and `audit-attest report` from it, each measured with
# /usr/bin/time -v (wall time, peak RSS); plus the ledger's size. Prints one table row per N.
#
#   tests/bench/fleet.sh [BIN_DIR] [N...]        default: build/release/bin 1000 10000
#
# Environment: BENCH_DIR (work directory, default a new /tmp/audit-bench.*; kept when set),
# BENCH_ITEMS (inventory items per host, default 40). Other builds running at the same time
# distort the figures: the load average is printed with each row.
set -euo pipefail
BIN=$(cd "${1:-build/release/bin}" && pwd)
shift || true
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 10000)
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
W=${BENCH_DIR:-$(mktemp -d /tmp/audit-bench.XXXXXX)}
[[ -n ${BENCH_DIR:-} ]] || trap 'rm -rf "$W"' EXIT
mkdir -p "$W"
[[ -f "$W/auth/trust.json" ]] || "$BIN/audit-keys" init --dir "$W/auth" --no-passphrase >/dev/null

# measure NAME CMD... : runs CMD under time -v; prints "seconds peak_MiB"
measure() {
    local name=$1; shift
    set +e
    /usr/bin/time -v -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err"
    local rc=$?
    set -e
    # import exits 3 (the fleet has rejected bundles by design), report 1 (hosts need attention)
    [[ $rc -le 3 ]] || { echo "$name failed ($rc): $(tail -3 "$W/$name.err")" >&2; exit 1; }
    python3 - "$W/$name.time" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = (int(w.group(1) or 0) * 3600) + int(w.group(2)) * 60 + float(w.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
print(f"{secs:.1f} {rss:.0f} {cpu:.1f}")
PY
}

# Per N: the generation (when it runs here) as wall/CPU seconds; import and report each as wall
# seconds, CPU seconds (user+sys) and peak RSS (MiB); the
# ledger's bytes per bundle; the load average (1 min) before the import, between import and
# report, and after the report.
# The machine may be shared: compare CPU seconds rather than wall time when the load is high.
printf '%-7s %-8s %-9s %-28s %-28s %-13s %-5s %s\n' hosts bundles gen:s/cpu \
    "import: wall cpu-s MiB" "report: wall cpu-s MiB" "ledger B/bndl" cores "load before/between/after"
for n in "${sizes[@]}"; do
    ev="$W/ev-$n"
    L="$W/ledger-$n.sqlite"
    rm -rf "$W/report-$n" "$L"
    if [[ ! -d "$ev" ]]; then
        read -r gs _ gc < <(measure "gen-$n" "$BIN/audit-fleet-gen" --auth "$W/auth" --out "$ev" --hosts "$n" --items "${BENCH_ITEMS:-40}" --chain-heads)
        cp "$W/gen-$n.out" "$W/gen-$n.json"
        gen="${gs%.*}/${gc%.*}"
    else
        gen="-"
    fi
    bundles=$(find "$ev" -name '*.evidence.tar.zst' | wc -l)
    load0=$(cut -d' ' -f1 /proc/loadavg)
    read -r is ir ic < <(measure "import-$n" "$BIN/audit-attest" import --ledger "$L" --trust "$W/auth/trust.json" "$ev")
    loadm=$(cut -d' ' -f1 /proc/loadavg)
    read -r rs rr rc < <(measure "report-$n" "$BIN/audit-attest" report --ledger "$L" --trust "$W/auth/trust.json" --key "$W/auth/inspector.key" --out "$W/report-$n")
    load1=$(cut -d' ' -f1 /proc/loadavg)
    stored=$(sqlite3 "$L" "SELECT count(*) FROM bundles" 2>/dev/null || echo "$bundles")
    per=$(python3 -c "import os; print(f'{os.path.getsize(\"$L\") / max(1, $stored):.0f}')")
    printf '%-7s %-8s %-9s %-28s %-28s %-13s %-5s %s\n' "$n" "$bundles" "$gen" "${is}s ${ic} ${ir}MiB" \
        "${rs}s ${rc} ${rr}MiB" "$per" "$(nproc)" "$load0 / $loadm / $load1"
done
