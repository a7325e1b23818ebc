#!/usr/bin/env bash
# Build the static release tools (not the tests) and run the main job on this machine:
# create a demo authority, scan "/" read-only with manifests/, write a signed bundle,
# verify it, attest, and print the summary. Installs only what the tools need to build
# (cmake/install-deps.sh without --tests; tests/run.sh installs the test dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash cmake/install-deps.sh
cmake --preset release -DAUDIT_TESTS=OFF >/dev/null
cmake --build --preset release -j"$(nproc)" \
    --target audit-keys audit-scan audit-verify audit-attest audit-kit
echo "phase install + build of the tools: $((SECONDS - start)) s"

bin=build/release/bin
demo=${AUDIT_DEMO_DIR:-demo}
auth=$demo/authority
echo
echo "== tools"
for t in "$bin"/audit-*; do
    printf '%-14s %6s KiB  %s\n' "$(basename "$t")" "$(( $(stat -c %s "$t") / 1024 ))" \
        "$(file -b "$t" | grep -o 'statically linked' || echo 'dynamically linked')"
done
export AUDIT_STATE_DIR="$demo/state"  # the demo's rollback state stays in the demo directory
if [[ ! -f $auth/trust.json ]]; then
    echo "== demo authority (unencrypted keys: for a demo only) in $auth"
    "$bin/audit-keys" init --dir "$auth" --no-passphrase
fi
echo "== sign the shipped manifests with the demo authority's manifest key"
rm -rf "$demo/manifests" && mkdir -p "$demo/manifests" && cp manifests/*.toml "$demo/manifests/"
"$bin/audit-keys" sign-manifest --trust "$auth/trust.json" --key "$auth/manifest.key" "$demo/manifests"
echo "== scan of / (read-only) with the signed manifests"
set +e
"$bin/audit-scan" --root / --manifests "$demo/manifests" --trust "$auth/trust.json" \
    --key "$auth/collector.key" --out "$demo/evidence"
rc=$?
set -e
[[ $rc -le 1 ]] || exit "$rc"
bundle=$(ls -t "$demo"/evidence/*.evidence.tar.zst | head -1)
echo "== verify $bundle"
"$bin/audit-verify" --trust "$auth/trust.json" "$bundle"
echo "== attest over every bundle in $demo/evidence"
set +e
"$bin/audit-attest" --trust "$auth/trust.json" --key "$auth/inspector.key" --out "$demo/report" \
    "$demo"/evidence/*.evidence.tar.zst
arc=$?
set -e
[[ $arc -le 1 ]] || exit "$arc"
echo
if [[ $rc -eq 0 ]]; then echo "result: no Kaspersky-branded product present on this machine"
else echo "result: Kaspersky-branded product PRESENT on this machine (see findings above)"; fi
