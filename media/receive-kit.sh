#!/usr/bin/env bash
# Receive a returned kit on the inspector's workstation: copy it off the medium, check it against
# the inspector's trust root, and attest the evidence on it. Usage:
#   receive-kit.sh KIT TRUST INSPECTOR_KEY REPORT
# KIT is a mounted kit directory, a FAT image (.img, read with mtools) or an ISO image (.iso, read
# with xorriso). Exit codes as audit-kit check / audit-attest (0 clean, 1 attention, 3 failed).
set -euo pipefail
[[ $# -eq 4 ]] || { sed -n '2,6p' "$0" >&2; exit 2; }
kit=$1 trust=$2 key=$3 report=$4
bin=${AUDIT_BIN:-$(dirname "$(command -v audit-kit)")}
work=$(mktemp -d /tmp/returned-kit.XXXXXX)
case "$kit" in
*.img) MTOOLS_SKIP_CHECK=1 mcopy -s -n -i "$kit" '::/*' "$work/" ;;
*.iso) xorriso -osirrox on -indev "$kit" -extract / "$work" >/dev/null 2>&1 ;;
*) cp -a "$kit/." "$work/" ;;
esac
echo "kit copied to $work"
set +e
"$bin/audit-kit" check --trust "$trust" "$work"
check=$?
set -e
[[ $check -eq 3 ]] && { echo "the kit failed its check: its evidence is not attested" >&2; exit 3; }
shopt -s nullglob
bundles=("$work"/evidence/*.evidence.tar.zst)
[[ ${#bundles[@]} -gt 0 ]] || { echo "no evidence on the kit" >&2; exit 1; }
"$bin/audit-attest" --trust "$trust" --key "$key" --out "$report" "${bundles[@]}"
