# Shared helpers of the end-to-end scenarios (sourced).
set -euo pipefail
: "${AUDIT_BIN:?AUDIT_BIN must name the directory of the built tools}"
: "${AUDIT_SOURCE_DIR:?AUDIT_SOURCE_DIR must name the repository}"
export PATH="$AUDIT_BIN:$PATH"
FIXTURES="$AUDIT_SOURCE_DIR/tests/fixtures"
MANIFESTS="$AUDIT_SOURCE_DIR/manifests"
T=$(mktemp -d /tmp/audit-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# expect_exit CODE CMD... : run CMD, require exit CODE, keep stdout in $T/out, stderr in $T/err.
expect_exit() {
    local want=$1; shift
    set +e
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    set -e
    if [[ $got -ne $want ]]; then
        echo "stdout:" >&2; cat "$T/out" >&2; echo "stderr:" >&2; cat "$T/err" >&2
        fail "'$*' exited $got, expected $want"
    fi
}

# jq-free JSON queries: json_get FILE PYTHON-EXPR (d is the document)
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# Rollback state of the tools stays inside the test directory.
export AUDIT_STATE_DIR="$T/state"

# new_authority DIR [MANIFEST...]: a demo authority in DIR, plus signed copies of shipped
# manifests in DIR/manifests (the scanner refuses unsigned manifests): the named files of
# manifests/, by default kaspersky.toml alone, whose rules the scenarios check (one attestation
# row per host). The default set, every manifests/*.toml, is e2e.manifest_default_set's.
new_authority() {
    local dir=$1 f
    shift
    audit-keys init --dir "$dir" --no-passphrase >/dev/null
    mkdir -p "$dir/manifests"
    for f in "${@:-kaspersky.toml}"; do cp "$MANIFESTS/$f" "$dir/manifests/"; done
    audit-keys sign-manifest --trust "$dir/trust.json" --key "$dir/manifest.key" "$dir/manifests" >/dev/null
}

# cdx_schema: the directory of the official CycloneDX JSON schemas, from the npm package
# @cyclonedx/cyclonedx-library (pinned by digest), fetched once into build/_deps and shared by
# the tests (under a lock: they run in parallel).
CDX_LIBRARY_VERSION=10.3.0
CDX_LIBRARY_SHA256=9833bd949052eb18218dd64b13ad62d9246f7395eef01c66dad08fcbacf74f01
cdx_schema() {
    local dir="$AUDIT_SOURCE_DIR/build/_deps/cyclonedx-library-$CDX_LIBRARY_VERSION"
    mkdir -p "$dir"
    (
        flock 9
        if [[ ! -f "$dir/package/res/schema/bom-1.5.SNAPSHOT.schema.json" ]]; then
            (cd "$dir" && npm pack --silent "@cyclonedx/cyclonedx-library@$CDX_LIBRARY_VERSION" >/dev/null) \
                || fail "npm pack @cyclonedx/cyclonedx-library failed"
            echo "$CDX_LIBRARY_SHA256  $dir/cyclonedx-cyclonedx-library-$CDX_LIBRARY_VERSION.tgz" |
                sha256sum -c --quiet || fail "cyclonedx-library tarball digest mismatch"
            tar -xzf "$dir/cyclonedx-cyclonedx-library-$CDX_LIBRARY_VERSION.tgz" -C "$dir" package/res/schema
        fi
    ) 9>"$dir.lock"
    echo "$dir/package/res/schema"
}

# validate_sbom BUNDLE: the bundle's sbom.cdx.json against the official CycloneDX 1.5 schema.
validate_sbom() {
    local schema out="$T/sbom-$(basename "$1").json"
    schema=$(cdx_schema)
    tar --zstd -xOf "$1" sbom.cdx.json >"$out"
    /usr/bin/python3 "$FIXTURES/cdx-validate.py" "$schema" "$out" || fail "$1: sbom.cdx.json is not valid CycloneDX 1.5"
}
