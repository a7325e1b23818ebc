#!/usr/bin/env bash
# A scan's memory does not grow with the number of files it records: audit-scan --hash-scope all
# over 5,000 and 50,000 files, peak RSS of each (getrusage of the child, in a helper process).
# Keeping every record in memory costs well over 1 KB a file (45 MB more at 50k); the streamed
# files.jsonl must stay within a loose 16 MB of growth. No timing is asserted.
source "$(dirname "$0")/lib.sh"

new_authority "$T/auth"
gen() {  # gen DIR COUNT: COUNT tiny files, 100 per directory
    python3 - "$1" "$2" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, "d%03d" % (i // 10000), "%02d" % (i // 100 % 100))
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "file-with-a-longish-name-%07d.txt" % i), "w") as f:
        f.write("x" * (i % 200))
PY
}
peak_kb() {  # peak_kb ROOT OUT: peak RSS (KiB) of one audit-scan of ROOT
    python3 - "$@" <<'PY'
import os, resource, subprocess, sys
root, out = sys.argv[1], sys.argv[2]
auth = os.environ["AUTH"]
r = subprocess.run(["audit-scan", "--root", root, "--manifests", auth + "/manifests",
                    "--trust", auth + "/trust.json", "--key", auth + "/collector.key",
                    "--out", out, "--hash-scope", "all", "--json"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
if r.returncode not in (0, 1):
    sys.exit("audit-scan failed: " + r.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
export AUTH="$T/auth"
# Under AddressSanitizer (the asan preset), freed blocks sit in a quarantine of up to 256 MB
# before reuse: RSS would measure the quarantine, not the scan. No effect on other builds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
step "trees of 5,000 and 50,000 files"
gen "$T/r5k" 5000
gen "$T/r50k" 50000
step "peak RSS of each scan"
small=$(peak_kb "$T/r5k" "$T/e5k")
large=$(peak_kb "$T/r50k" "$T/e50k")
echo "peak RSS: 5k files $small KiB, 50k files $large KiB"
lines=$(tar --zstd -xOf "$(ls "$T"/e50k/*.evidence.tar.zst)" files.jsonl | wc -l)
[[ $lines -ge 50000 ]] || fail "files.jsonl has $lines lines for 50,000 files"
(( large - small < 16 * 1024 )) || fail "peak RSS grew by $(( (large - small) / 1024 )) MiB from 5k to 50k files"
echo "scan_memory: ok"
