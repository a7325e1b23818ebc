#!/usr/bin/env bash
# Hashing benchmark (not a test: it prints figures). Times, in one invocation and on the same
# cached trees, audit-scan --hash-scope all against the usual peers:
#   find … -print0 | xargs -0 -P$(nproc) openssl dgst -sha256     (SHA-NI, the fastest sha256 peer)
#   find … -print0 | xargs -0 -P$(nproc) sha256sum                 (coreutils, no SHA-NI)
#   hashdeep -c sha256 -r                                          (multi-threaded)
#   find … -print0 | xargs -0 -P$(nproc) b3sum                     (BLAKE3: a faster hash, the
#                                                                   reference for what a walk reaches)
# and prints wall time, MB/s, files/s, peak RSS and ratios, and the CPU per file beyond hashing
# (issue 19 goal 1) for both I/O paths of the walk (--io posix, the default, and --io uring,
# labelled with the path each scan's coverage records); then the CNSA profile cost, peak RSS
# against the number of files, audit-verify throughput, bundle size per 100k files and the time of
# a manifest-only (matched) scan of /.
#
# Usage: tests/bench/hash.sh [--small N] [--million] [--runs R] [--work DIR] [--real-only]
#                           [REAL_TREE ...]
#   --small N   small files in the synthetic tree (default 50000)
#   --million   also measure peak RSS on a 1,000,000-file tree (generation takes a few minutes)
#   --runs R    runs per measurement, the best is reported (default 3)
#   --work DIR  where trees, keys and bundles go (default /tmp/audit-bench, kept for reruns)
#   --real-only only the real trees (the /usr/share figures of issue 19 goal 1)
#   REAL_TREE   real trees to compare on as well (default /usr/share)
# Tools: AUDIT_BIN (default build/release/bin; build with `cmake --build --preset release`).
# Peers that are missing are installed with apt-get when run as root, else skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${AUDIT_BIN:-$repo/build/release/bin}
small=50000
million=0
runs=3
work=/tmp/audit-bench
real_only=0
real=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --small) small=$2; shift 2 ;;
        --million) million=1; shift ;;
        --runs) runs=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --real-only) real_only=1; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) real+=("$1"); shift ;;
    esac
done
[[ ${#real[@]} -gt 0 ]] || real=(/usr/share)
jobs=$(nproc)
[[ -x "$bin/audit-scan" ]] || { echo "no $bin/audit-scan: build the release preset first" >&2; exit 2; }

need() {  # need COMMAND PACKAGE: 0 when available (installing it if we can)
    command -v "$1" >/dev/null && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y -qq "$2" >/dev/null 2>&1 || true
    fi
    command -v "$1" >/dev/null || { echo "note: $1 ($2) not available, skipped"; return 1; }
}
need /usr/bin/time time || { echo "GNU time is needed for peak RSS" >&2; exit 2; }
have_openssl=0; need openssl openssl && have_openssl=1
have_hashdeep=0; need hashdeep hashdeep && have_hashdeep=1
have_b3sum=0; need b3sum b3sum && have_b3sum=1

mkdir -p "$work"
# ---------------------------------------------------------------------------------------------
# Reproducible trees: contents and sizes come from a fixed seed, so every run hashes the same bytes.
gen_tree() {  # gen_tree DIR COUNT MAX_SIZE LARGE_COUNT LARGE_MIB
    local dir=$1
    [[ -f "$dir/.complete" ]] && return 0
    rm -rf "$dir"
    echo "generating $dir ($2 files up to $3 bytes, $4 x $5 MiB)" >&2
    python3 - "$@" <<'EOF'
import hashlib, math, os, random, sys
root, count, max_size, large, large_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(20261123)
block = b"".join(hashlib.sha512(i.to_bytes(4, "little")).digest() for i in range(1 << 15))  # 2 MiB
os.makedirs(root, exist_ok=True)
per_dir = 100
for i in range(count):
    d = os.path.join(root, "small", "%03d" % (i // (per_dir * 100) % 1000), "%02d" % (i // per_dir % 100))
    if i % per_dir == 0:
        os.makedirs(d, exist_ok=True)
    size = int(math.exp(rng.uniform(0, math.log(max_size + 1)))) - 1
    off = rng.randrange(0, len(block) - size) if size < len(block) else 0
    fd = os.open(os.path.join(d, "f%07d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, block[off:off + size])
    os.close(fd)
if large:
    os.makedirs(os.path.join(root, "large"), exist_ok=True)
for j in range(large):
    with open(os.path.join(root, "large", "big%d.bin" % j), "wb") as f:
        for m in range(large_mib // 2):
            f.write(block[:16] + (j * 100000 + m).to_bytes(8, "little") + block[24:])
EOF
    touch "$dir/.complete"
}

# ---------------------------------------------------------------------------------------------
# An authority, signed manifests and a certified collector key for the scans.
auth=$work/auth
if [[ ! -f "$auth/trust.json" ]]; then
    rm -rf "$auth"
    "$bin/audit-keys" init --dir "$auth" --no-passphrase >/dev/null
    mkdir -p "$auth/manifests"
    cp "$repo"/manifests/*.toml "$auth/manifests/"
    "$bin/audit-keys" sign-manifest --trust "$auth/trust.json" --key "$auth/manifest.key" "$auth/manifests" >/dev/null
fi
export AUDIT_STATE_DIR=$work/state
out=$work/evidence
scan_cmd() {  # scan_cmd ROOT [audit-scan options]
    local root=$1; shift
    echo "$bin/audit-scan --root '$root' --manifests '$auth/manifests' --trust '$auth/trust.json' --key '$auth/collector.key' --out '$out' --json $* >'$work/last-scan.json'"
}

# ---------------------------------------------------------------------------------------------
# Measurement: best wall time of $runs runs and the peak RSS of that run.
measure() {  # measure LABEL COMMAND -> sets secs, cpu (user+sys of that run), rss_mb
    local best="" best_rss="" best_cpu=""
    for ((r = 0; r < runs; r++)); do
        set +e
        /usr/bin/time -f "%e %M %U %S" -o "$work/time.out" bash -c "$2" >/dev/null 2>"$work/err.out"
        local rc=$?
        set -e
        # audit-scan exits 1 when a product is present: not a failure here.
        if [[ $rc -ne 0 && $rc -ne 1 ]]; then
            echo "$1 failed ($rc):" >&2
            cat "$work/err.out" >&2
            return 1
        fi
        read -r s m u k < <(tail -1 "$work/time.out")
        if [[ -z "$best" ]] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then
            best=$s
            best_rss=$m
            best_cpu=$(awk -v u="$u" -v k="$k" 'BEGIN{printf "%.2f", u+k}')
        fi
    done
    secs=$best
    cpu=$best_cpu
    rss_mb=$(awk -v k="$best_rss" 'BEGIN{printf "%.1f", k/1024}')
}

tree_size() {  # tree_size DIR -> sets nfiles, nbytes
    read -r nfiles nbytes < <(find "$1" -type f -printf '%s\n' | awk '{n++; s+=$1} END{print n+0, s+0}')
}

declare -A results cpus
row() {  # row LABEL
    local mbs fps
    mbs=$(awk -v b="$nbytes" -v s="$secs" 'BEGIN{printf "%.0f", (s>0 ? b/s/1e6 : 0)}')
    fps=$(awk -v n="$nfiles" -v s="$secs" 'BEGIN{printf "%.0f", (s>0 ? n/s : 0)}')
    results[$1]=$secs
    cpus[$1]=$cpu
    printf "  %-34s %7.2f s %7s MB/s %9s files/s %7s MB RSS %7.2f s CPU\n" "$1" "$secs" "$mbs" "$fps" "$rss_mb" "$cpu"
}
ratio() {  # ratio PEER OURS: how many times faster ours is (wall time; CPU time in parentheses)
    awk -v p="${results[$1]:-0}" -v o="${results[$2]:-0}" -v pc="${cpus[$1]:-0}" -v oc="${cpus[$2]:-0}" \
        'BEGIN{ if (o>0 && p>0) printf "%.2fx (cpu %.2fx)", p/o, (oc>0 ? pc/oc : 0); else printf "n/a" }'
}

# Issue 19 goal 1: the CPU a scan spends per file beyond hashing its bytes at one core's SHA-256
# rate (walk, open/read/stat/close, records, sorting, the bundle), goal <= 10 us; of the last
# measure, labelled with the I/O path its coverage records.
per_file() {  # per_file IO-PATH
    ((sha256_rate > 0)) || return 0
    echo "  CPU per file beyond hashing ($1): $(awk -v c="$cpu" -v b="$nbytes" -v r="$sha256_rate" -v n="$nfiles" \
        'BEGIN{printf "%.1f", (c - b/r) / n * 1e6}') us = (${cpu} s CPU - $nbytes B / $sha256_rate B/s) / $nfiles files (goal <= 10 us; load $(cut -d' ' -f1-3 /proc/loadavg))"
}
io_used() {  # the walk.stats.io of the last scan's bundle
    python3 - "$work/last-scan.json" <<'PY' 2>/dev/null || echo "?"
import json, subprocess, sys
bundle = json.load(open(sys.argv[1]))["bundle"]
cov = subprocess.run(["tar", "--zstd", "-xOf", bundle, "coverage.json"], capture_output=True, check=True).stdout
print(json.loads(cov)["walk"]["stats"].get("io", "?"))
PY
}

compare() {  # compare TREE NAME
    local tree=$1 name=$2
    tree_size "$tree"
    echo
    echo "== $name: $tree ($nfiles files, $(awk -v b="$nbytes" 'BEGIN{printf "%.0f", b/1e6}') MB, cached, $jobs cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
    find "$tree" -type f -print0 | xargs -0 -r cat >/dev/null 2>&1 || true  # warm the cache
    local list="find '$tree' -type f -print0"
    # Both I/O paths of the walk (--io posix, the default, and --io uring: batched
    # openat/read/close on a restricted io_uring); the ratios below are the default's.
    measure "audit-scan uring" "$(scan_cmd "$tree" --hash-scope all --jobs "$jobs" --io uring)"
    row "audit-scan --io uring"
    per_file "$(io_used)"
    measure "audit-scan" "$(scan_cmd "$tree" --hash-scope all --jobs "$jobs" --io posix)"
    row "audit-scan (sha256)"
    local ours="audit-scan (sha256)"
    per_file "$(io_used)"
    if ((have_openssl)); then
        measure openssl "$list | xargs -0 -r -P$jobs openssl dgst -sha256"
        row "xargs openssl dgst -sha256"
    fi
    measure sha256sum "$list | xargs -0 -r -P$jobs sha256sum"
    row "xargs sha256sum"
    if ((have_hashdeep)); then
        measure hashdeep "hashdeep -c sha256 -r '$tree'"
        row "hashdeep -c sha256 -r"
    fi
    if ((have_b3sum)); then
        measure b3sum "$list | xargs -0 -r -P$jobs b3sum"
        row "xargs b3sum (BLAKE3)"
    fi
    echo "  ratios (peer time / audit-scan time; goals: openssl >= 1.2x, sha256sum >= 2x, hashdeep >= 4x):"
    echo "    openssl $(ratio "xargs openssl dgst -sha256" "$ours")  sha256sum $(ratio "xargs sha256sum" "$ours")  hashdeep $(ratio "hashdeep -c sha256 -r" "$ours")  b3sum $(ratio "xargs b3sum (BLAKE3)" "$ours")"
}

echo "audit-scan $("$bin/audit-scan" --version 2>/dev/null | head -1) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $jobs cores; sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
# One core's SHA-256 rate (bytes/s, openssl's SHA-NI code): what hashing alone costs in CPU.
sha256_rate=0
if ((have_openssl)); then
    rate256=$(openssl speed -evp sha256 -bytes 16384 -seconds 1 2>/dev/null | awk '/^sha256/{print $2}')
    echo "openssl speed (one core, 16 KiB blocks): $rate256 sha256, $(openssl speed -evp sha384 -bytes 16384 -seconds 1 2>/dev/null | awk '/^sha384/{print $2}') sha384"
    sha256_rate=$(awk -v r="${rate256%k}" 'BEGIN{printf "%.0f", r*1000}')
fi

if ((!real_only)); then
syn=$work/synthetic-$small
gen_tree "$syn" "$small" 65535 4 256
compare "$syn" "synthetic tree (small files, log-uniform 0..64 KiB, plus 4 x 256 MiB)"
compare "$syn/large" "large cached files (4 x 256 MiB)"
large_secs=${results["audit-scan (sha256)"]}
large_gbs=$(awk -v b="$nbytes" -v s="$large_secs" 'BEGIN{printf "%.2f", b/s/1e9}')
# The limit is this machine's, now: jobs x one core's openssl SHA-256 rate measured above (a
# figure fixed from an earlier day's rate would mistake a slower host for a slower scan).
if ((sha256_rate > 0)); then
    limit_gbs=$(awk -v r="$sha256_rate" -v j="$jobs" 'BEGIN{printf "%.2f", r*j/1e9}')
    echo "  large files: $large_gbs GB/s = $(awk -v g="$large_gbs" -v l="$limit_gbs" 'BEGIN{printf "%.0f", g/l*100}')% of the $jobs-core SHA-256 limit of $limit_gbs GB/s ($jobs x openssl's one-core rate; goal >= 70%)"
else
    echo "  large files: $large_gbs GB/s (no openssl speed: no limit to compare with)"
fi
# Every scan also pays a fixed cost that has nothing to do with hashing (trust root, manifests,
# the package sources of the root, the bundle, its signatures): measured on an empty tree.
large_bytes=$nbytes
mkdir -p "$work/empty"
measure "empty" "$(scan_cmd "$work/empty" --hash-scope all --jobs "$jobs")"
fixed=$secs
net=$(awk -v s="$large_secs" -v f="$fixed" 'BEGIN{printf "%.2f", (s>f ? s-f : 0)}')
echo "  fixed cost of a scan (empty tree): $fixed s; hashing net of it: $(awk -v b="$large_bytes" -v s="$net" 'BEGIN{if (s>0) printf "%.2f", b/s/1e9; else print "n/a"}') GB/s"

echo
echo "== CNSA profile on the large files: sha256 + sha384 from one read"
tree_size "$syn/large"
measure "sha384" "$(scan_cmd "$syn/large" --hash-scope all --jobs "$jobs" --digests sha384)"
row "audit-scan --digests sha384"
t384=$secs
measure "cnsa" "$(scan_cmd "$syn/large" --hash-scope all --jobs "$jobs" --digests sha256,sha384)"
row "audit-scan --digests sha256,sha384"
echo "  sum of the two alone: $(awk -v a="$large_secs" -v b="$t384" 'BEGIN{printf "%.2f", a+b}') s; both from one read: $secs s (goal: no more than the sum)"

fi  # not --real-only
for t in "${real[@]}"; do
    [[ -d "$t" ]] && compare "$t" "real tree"
done

if ((!real_only)); then
echo
echo "== peak RSS against the number of files (tiny files, audit-scan --hash-scope all)"
counts=(10000 100000)
((million)) && counts+=(1000000)
for n in "${counts[@]}"; do
    tiny=$work/tiny-$n
    gen_tree "$tiny" "$n" 1024 0 0
    tree_size "$tiny"
    find "$tiny" -type f -print0 | xargs -0 -r cat >/dev/null 2>&1 || true
    runs_saved=$runs
    ((n >= 1000000)) && runs=1
    measure "tiny-$n" "$(scan_cmd "$tiny" --hash-scope all --jobs "$jobs")"
    runs=$runs_saved
    row "audit-scan, $n files"
    bundle=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bundle'])" "$work/last-scan.json")
    size=$(stat -c %s "$bundle")
    echo "    bundle $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}') MB = $(awk -v s="$size" -v n="$nfiles" 'BEGIN{printf "%.1f", s/n*100000/1e6}') MB per 100k files"
    [[ $n == 100000 ]] && bundle100k=$bundle
done

echo
echo "== audit-verify throughput"
verify_dir=$work/verify
rm -rf "$verify_dir" && mkdir -p "$verify_dir"
measure "matched /" "$(scan_cmd / --hash-scope matched --jobs "$jobs")"
small_bundle=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bundle'])" "$work/last-scan.json")
echo "  manifest-only scan of / (--hash-scope matched): $secs s, peak RSS $rss_mb MB"
for i in $(seq 1 20); do cp "$small_bundle" "$verify_dir/s$i.evidence.tar.zst"; done
measure "verify small" "$bin/audit-verify --trust '$auth/trust.json' --state none $verify_dir/s*.evidence.tar.zst"
echo "  20 bundles of a matched scan of / ($(stat -c %s "$small_bundle") bytes each): $secs s = $(awk -v s="$secs" 'BEGIN{printf "%.1f", 20/s}') bundles/s"
if [[ -n "${bundle100k:-}" ]]; then
    for i in 1 2 3 4 5; do cp "$bundle100k" "$verify_dir/l$i.evidence.tar.zst"; done
    measure "verify 100k" "$bin/audit-verify --trust '$auth/trust.json' --state none $verify_dir/l*.evidence.tar.zst"
    echo "  5 bundles of 100k files ($(stat -c %s "$bundle100k") bytes each): $secs s = $(awk -v s="$secs" 'BEGIN{printf "%.2f", 5/s}') bundles/s"
fi
fi  # not --real-only
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
