#!/usr/bin/env bash
# Prepare a kit: lay it out, seal it, make a FAT image (USB stick, writable evidence area) and an
# ISO image (read-only disc). Usage:
#   prepare-kit.sh AUTH OUTDIR [audit-kit build options, e.g. --lms-key seal.key --days 60]
# AUTH is an authority directory (audit-keys init): trust.json, kit.key, collector.key with
# collector.cert.json, and signed manifests/. The tools are taken from AUDIT_BIN (default: the
# directory of audit-kit on PATH); the Windows tools (bin/windows/ and RUN-SCAN.cmd) from
# AUDIT_WIN_BIN when it is set (the windows preset's build/windows/bin).
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,8p' "$0" >&2; exit 2; }
auth=$1 out=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
bin=${AUDIT_BIN:-$(dirname "$(command -v audit-kit)")}
win=()
[[ -n "${AUDIT_WIN_BIN:-}" ]] && win=(--windows-bin "$AUDIT_WIN_BIN")
"$bin/audit-kit" build "${win[@]}" --trust "$auth/trust.json" --key "$auth/kit.key" \
    --manifests "$auth/manifests" --collector "$auth/collector.key" --tools "$bin" \
    --docs "$here" --launcher "$here/run.sh" --out "$out" --image "$out.img" --image "$out.iso" "$@"
echo "next: write $out.img to a USB stick (dd, see media/README.md) and note the manifest sha256"
