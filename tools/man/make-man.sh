#!/usr/bin/env bash
# Writes a man page (section 1) for every tool and every subcommand, from the tools' own --help,
# so that the pages never drift from what the binaries accept:
#   make-man.sh BINDIR OUTDIR     -> OUTDIR/audit-scan.1, OUTDIR/audit-keys-init.1, ...
# The subcommands are listed below; one a binary does not know yet (its --help fails) is skipped
# with a note. The version comes from `TOOL --version`; no date (reproducible builds).
set -euo pipefail
bin=$1 out=$2
mkdir -p "$out"
declare -A subs=(
    [audit-scan]=""
    [audit-verify]=""
    [audit-keys]="init show generate certify certify-site rotate-root revoke sign-manifest"
    [audit-attest]="import report diff report-diff export site-summary verify-summary rollup"
    [audit-kit]="build check lms-keygen"
)
declare -A what=(
    [audit-scan]="enumerate, hash and match a root read-only; write one signed evidence bundle"
    [audit-verify]="verify bundles, attestations, chain heads and trust roots"
    [audit-keys]="create and manage an authority's keys, trust root and certificates"
    [audit-attest]="merge verified bundles into signed attestations; ledger, report, diff"
    [audit-kit]="lay out, seal and image a removable-media kit; check a kit and its evidence"
)
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/" -e 's/-/\\-/g'; }
# page NAME SUMMARY HELPFILE VERSION
page() {
    local name=$1 summary=$2 help=$3 version=$4
    {
        echo ".TH $(echo "$name" | tr a-z A-Z) 1 \"\" \"audit-toolkit $version\" \"audit-toolkit\""
        echo ".SH NAME"
        echo "$name \\- $summary" | sed 's/-/\\-/g; s/\\\\-/\\-/g'
        awk -v esc=1 '
            function e(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); if (s ~ /^[.'"'"']/) s = "\\&" s; return s }
            NR == 1 && /^usage: / { sub(/^usage: /, ""); print ".SH SYNOPSIS"; print ".B " e($0); sec = "desc"; next }
            /^[ \t]+usage:|^       [a-z]/ && sec == "desc" && !started { print ".br"; sub(/^[ \t]+/, ""); print e($0); next }
            /^options:$/ { print ".SH OPTIONS"; sec = "opt"; next }
            /^exit codes:/ { print ".SH EXIT STATUS"; sec = "exit"; sub(/^exit codes: */, ""); print e($0); next }
            sec == "desc" && !started && NF == 0 { next }
            sec == "desc" && !started { print ".SH DESCRIPTION"; started = 1 }
            sec == "desc" && NF == 0 { print ".PP"; next }
            sec == "desc" { print e($0); next }
            sec == "opt" && /^  --/ {
                line = $0; sub(/^  /, "", line)
                if (match(line, /   +/)) { opt = substr(line, 1, RSTART - 1); rest = substr(line, RSTART + RLENGTH) }
                else { opt = line; rest = "" }
                print ".TP"; print ".B " e(opt); if (rest != "") print e(rest); next }
            sec == "opt" && NF > 0 { line = $0; sub(/^ +/, "", line); print e(line); next }
            sec == "exit" && NF > 0 { line = $0; sub(/^ +/, "", line); print ".br"; print e(line); next }
        ' "$help"
        echo ".SH SEE ALSO"
        local t
        for t in audit-scan audit-verify audit-attest audit-keys audit-kit; do
            [[ $t == "$name" ]] && continue
            echo ".BR $t (1),"
        done | sed '$ s/,$//'
        echo ".PP"
        echo "The formats, reason codes and threat model: /usr/share/doc/audit-toolkit/README.md"
    } >"$out/$name.1"
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for tool in "${!subs[@]}"; do
    [[ -x "$bin/$tool" ]] || { echo "make-man: no $bin/$tool" >&2; exit 1; }
    version=$({ "$bin/$tool" --version 2>/dev/null || true; } | head -n 1 | awk '{print $2}')
    "$bin/$tool" --help >"$tmp" 2>/dev/null || true
    page "$tool" "${what[$tool]}" "$tmp" "$version"
    top=$(cat "$tmp")
    for sub in ${subs[$tool]}; do
        # A subcommand this binary does not name in its help does not exist in it (yet).
        if ! grep -qE "(^|[^a-z-])$sub([^a-z-]|$)" <<<"$top"; then
            echo "make-man: $tool has no subcommand $sub in this build: no page" >&2
            continue
        fi
        if "$bin/$tool" "$sub" --help >"$tmp" 2>/dev/null && grep -q . "$tmp"; then
            page "$tool-$sub" "$tool $sub (see $tool(1))" "$tmp" "$version"
        else
            echo "make-man: $tool $sub has no --help in this build: no page" >&2
        fi
    done
done
