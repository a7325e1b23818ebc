#!/usr/bin/env bash
# Size limit of the kit's static Linux tools (issue 19, goal 4; README "Build facts"): each
# release tool, static and stripped, is at most 6 MiB (6 291 456 bytes), so that later work cannot
# quietly undo what keeping them small took. Builds that are not static and stripped (debug,
# asan) have nothing to check: skipped (77). Prints every tool's size.
source "$(dirname "$0")/lib.sh"
limit=$((6 * 1024 * 1024))
tools=(audit-scan audit-verify audit-attest audit-keys audit-kit audit-fleet-gen)
for t in "${tools[@]}"; do
    [[ -x "$AUDIT_BIN/$t" ]] || fail "no $AUDIT_BIN/$t"
done
# static: no program interpreter; stripped: no symbol table.
if readelf -lW "$AUDIT_BIN/audit-scan" | grep -q 'Requesting program interpreter' ||
    readelf -SW "$AUDIT_BIN/audit-scan" | grep -q ' \.symtab '; then
    echo "skipped: $AUDIT_BIN holds no static, stripped release build"
    exit 77
fi
rc=0
for t in "${tools[@]}"; do
    size=$(stat -c %s "$AUDIT_BIN/$t")
    printf '%-16s %9d bytes (%.2f MiB)\n' "$t" "$size" "$(awk -v s="$size" 'BEGIN{print s/1048576}')"
    if readelf -lW "$AUDIT_BIN/$t" | grep -q 'Requesting program interpreter'; then
        echo "FAIL: $t is not static" >&2
        rc=1
    fi
    if ((size > limit)); then
        echo "FAIL: $t is $size bytes, over its limit of 6 MiB ($limit bytes)" >&2
        rc=1
    fi
done
exit $rc
