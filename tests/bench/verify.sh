#!/usr/bin/env bash
# audit-verify benchmark (not a test: it prints figures). Verifies N copies of one real scan
# bundle in one invocation with 1 worker and with one per CPU, and times in the same invocation a
# peer doing the same byte work with standard tools: per bundle `sha256sum` of the file and
# `zstd -dc | tee >(sha384sum) | sha256sum` of its tar stream (the digests audit-verify checks),
# run by `xargs -P`. Prints bundles/s (wall) and CPU ms per bundle (user+sys: the machine may be
# shared), the bundle's bytes inside and compressed, the ratio to the peer and the load average
# beside every figure.
#
# Usage: tests/bench/verify.sh [--copies N] [--runs R] [--work DIR] [--bundle B --trust T]
#   --copies N  copies verified per run (default 200)
#   --runs R    runs per measurement, the best is reported (default 3)
#   --work DIR  where the authority, the scan and the copies go (default /tmp/audit-bench-verify)
#   --bundle B --trust T   an existing bundle and its trust root instead of a fresh scan of /
#               (a scan of / as root: the demo's bundle, `--hash-scope matched`)
# Tools: AUDIT_BIN (default build/release/bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${AUDIT_BIN:-$repo/build/release/bin}
copies=200
runs=3
work=/tmp/audit-bench-verify
bundle=""
trust=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --copies) copies=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --bundle) bundle=$2; shift 2 ;;
        --trust) trust=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
cores=$(nproc)
[[ -x "$bin/audit-verify" ]] || { echo "no $bin/audit-verify: build the release preset first" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "GNU time (/usr/bin/time) is needed" >&2; exit 2; }
for t in zstd sha256sum sha384sum xargs; do
    command -v "$t" >/dev/null || { echo "$t is needed for the peer line" >&2; exit 2; }
done
load() { cut -d' ' -f1-3 /proc/loadavg; }

mkdir -p "$work"
chmod 755 "$work"
export AUDIT_STATE_DIR=$work/state
if [[ -z $bundle ]]; then
    auth=$work/auth
    [[ -f $auth/trust.json ]] || "$bin/audit-keys" init --dir "$auth" --no-passphrase >/dev/null
    rm -rf "$work/manifests" "$work/evidence" && mkdir -p "$work/manifests"
    cp "$repo"/manifests/*.toml "$work/manifests/"
    "$bin/audit-keys" sign-manifest --trust "$auth/trust.json" --key "$auth/manifest.key" \
        "$work/manifests" >/dev/null
    set +e
    "$bin/audit-scan" --root / --manifests "$work/manifests" --trust "$auth/trust.json" \
        --key "$auth/collector.key" --out "$work/evidence" --quiet >/dev/null 2>&1
    rc=$?
    set -e
    [[ $rc -le 1 ]] || { echo "the scan of / failed (exit $rc)" >&2; exit 2; }
    bundle=$(ls -t "$work"/evidence/*.evidence.tar.zst | head -1)
    trust=$auth/trust.json
fi
[[ -f $bundle && -f $trust ]] || { echo "need --bundle and --trust (or neither)" >&2; exit 2; }

copy_dir=$work/copies
rm -rf "$copy_dir" && mkdir -p "$copy_dir"
for i in $(seq 1 "$copies"); do cp "$bundle" "$copy_dir/c$i.evidence.tar.zst"; done
cat "$copy_dir"/*.evidence.tar.zst >/dev/null  # cached: the figures are CPU, not disk

compressed=$(stat -c %s "$bundle")
inside=$(tar --zstd -tvf "$bundle" | awk '{s += $3} END {print s}')
format=$("$bin/audit-verify" --trust "$trust" --json "$bundle" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["detail"].get("format", "?"))')
echo "== bundle: $(basename "$bundle")"
echo "format v$format; $inside bytes inside ($(( inside / 1024 )) KiB), $compressed compressed ($(( compressed / 1024 )) KiB)"
tar --zstd -tvf "$bundle" | awk '{printf "  %-22s %10d\n", $6, $3}'
echo "machine: $cores CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

best_wall="" best_cpu=""
measure() {  # measure CMD: best wall and CPU (user+sys) of $runs runs, in best_wall/best_cpu
    best_wall="" best_cpu=""
    local r out wall cpu
    for r in $(seq 1 "$runs"); do
        /usr/bin/time -o "$work/time" -f '%e %U %S' bash -c "$1" >/dev/null 2>&1 || true
        out=$(tail -1 "$work/time")
        wall=$(awk '{print $1}' <<<"$out")
        cpu=$(awk '{print $2 + $3}' <<<"$out")
        if [[ -z $best_wall ]] || awk "BEGIN {exit !($wall < $best_wall)}"; then best_wall=$wall; fi
        if [[ -z $best_cpu ]] || awk "BEGIN {exit !($cpu < $best_cpu)}"; then best_cpu=$cpu; fi
    done
}
line() {  # line NAME: bundles/s (wall) and CPU per bundle of the last measure, with the load
    awk -v n="$copies" -v w="$best_wall" -v c="$best_cpu" -v name="$1" -v l="$(load)" 'BEGIN {
        printf "%-40s %7.1f bundles/s  wall %6.2f s  CPU %6.2f s = %5.1f ms/bundle = %6.1f bundles per CPU-s  (load %s)\n",
               name, n / (w > 0 ? w : 0.001), w, c, 1000 * c / n, n / (c > 0 ? c : 0.001), l }'
}

echo
echo "== $copies copies, best of $runs runs"
echo "load before: $(load)"
measure "'$bin/audit-verify' --trust '$trust' --jobs 1 '$copy_dir'"
one_wall=$best_wall one_cpu=$best_cpu
line "audit-verify --jobs 1"
measure "'$bin/audit-verify' --trust '$trust' --jobs $cores '$copy_dir'"
all_wall=$best_wall all_cpu=$best_cpu
line "audit-verify --jobs $cores"
# The peer: the same digests over the same bytes, without parsing, signatures or checks.
peer="find '$copy_dir' -name '*.evidence.tar.zst' -print0 | xargs -0 -n1 -P$cores bash -c 'sha256sum \"\$0\" >/dev/null; zstd -qdc \"\$0\" | tee >(sha384sum >/dev/null) | sha256sum >/dev/null'"
measure "$peer"
peer_wall=$best_wall peer_cpu=$best_cpu
line "peer (sha256sum, zstd -d, sha384sum) -P$cores"
awk -v a="$all_wall" -v p="$peer_wall" -v ac="$all_cpu" -v pc="$peer_cpu" -v o="$one_wall" 'BEGIN {
    printf "ratio peer / audit-verify --jobs all: wall %.2fx, CPU %.2fx; --jobs all / --jobs 1: %.2fx\n",
           p / a, pc / ac, o / a }'
echo "load after: $(load)"
