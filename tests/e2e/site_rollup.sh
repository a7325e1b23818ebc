#!/usr/bin/env bash
# Issue 17 item 9: signed site summaries and the headquarters roll-up, with real dpkg roots
# scanned by audit-scan. Two sites (own kits, own site keys certified by the root) each attest
# their bundles, sign a site summary; HQ rolls them up into one report with a site column. Refused:
# a replayed older summary, a summary signed by a key not delegated to its site, a report.json
# that is not the one the summary signs. Flagged: a host (same machine-id) reported by both sites.
source "$(dirname "$0")/lib.sh"

step "authority (ECDSA, so the forgery below can be made with python), kits per site, site keys"
audit-keys init --dir "$T/auth" --profile ecdsa --no-passphrase >/dev/null
TRUST="$T/auth/trust.json"
mkdir -p "$T/auth/manifests"
cp "$MANIFESTS/kaspersky.toml" "$T/auth/manifests/"
audit-keys sign-manifest --trust "$TRUST" --key "$T/auth/manifest.key" "$T/auth/manifests" >/dev/null
for s in site-a site-b; do
    audit-keys certify --trust "$TRUST" --key "$T/auth/kit.key" --collector "$T/auth/collector.key" \
        --kit "kit-$s" --out "$T/auth/kit-$s.cert.json" >/dev/null
    audit-keys generate --role inspector --profile ecdsa --no-passphrase --out "$T/$s.key" >/dev/null
    expect_exit 0 audit-keys certify-site --trust "$TRUST" --key "$T/auth/root.key" \
        --site-key "$T/$s.key.pub.json" --site "$s" --out "$T/$s.cert.json"
done
# Only a root key delegates a site.
expect_exit 2 audit-keys certify-site --trust "$TRUST" --key "$T/auth/kit.key" \
    --site-key "$T/site-a.key.pub.json" --site site-a --out "$T/bad.cert.json"

base=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /etc/debian_version)
kesl=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
host() {
    HOSTNAME_FOR_ROOT=$1 bash "$FIXTURES/dpkg-root.sh" init "$T/$1"
    bash "$FIXTURES/dpkg-root.sh" install "$T/$1" "$base"
}
scan() {  # scan SITE HOST
    set +e
    audit-scan --root "$T/$2" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --cert "$T/auth/kit-$1.cert.json" --out "$T/ev-$1" \
        >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "audit-scan $2 for $1 exited $rc"; }
}
host a-infected; host a-clean; host b-clean; host shared
bash "$FIXTURES/dpkg-root.sh" install "$T/a-infected" "$kesl"
scan site-a a-infected; scan site-a a-clean; scan site-a shared
scan site-b b-clean; scan site-b shared

step "each site: its report (step 1), then its signed summary (step 2)"
for s in site-a site-b; do
    set +e
    audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/$s" "$T/ev-$s" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "audit-attest for $s exited $rc"; }
done
expect_exit 0 audit-attest site-summary --trust "$TRUST" --key "$T/site-a.key" \
    --certificate "$T/site-a.cert.json" --site-state "$T/a.state" "$T/site-a"
grep -q "site      site-a sequence 1" "$T/out" || fail "site-summary: $(cat "$T/out")"
cp "$T/site-a/site-summary.dsse.json" "$T/a1.site-summary.dsse.json"
cp "$T/site-a/report.json" "$T/a1.report.json"
# The second summary of site A takes the next sequence by itself.
expect_exit 0 audit-attest site-summary --trust "$TRUST" --key "$T/site-a.key" \
    --certificate "$T/site-a.cert.json" --site-state "$T/a.state" "$T/site-a"
grep -q "site      site-a sequence 2" "$T/out" || fail "second site-summary: $(cat "$T/out")"
expect_exit 0 audit-attest site-summary --trust "$TRUST" --key "$T/site-b.key" \
    --certificate "$T/site-b.cert.json" --site-state "$T/b.state" "$T/site-b"
# A key the certificate does not name cannot sign for the site.
expect_exit 2 audit-attest site-summary --trust "$TRUST" --key "$T/site-b.key" \
    --certificate "$T/site-a.cert.json" --site-state "$T/b.state" "$T/site-b"
# A site summarizes only a report that verifies.
cp -r "$T/site-b" "$T/site-b-edit"
echo ',' >>"$T/site-b-edit/report.csv"
expect_exit 3 audit-attest site-summary --trust "$TRUST" --key "$T/site-b.key" \
    --certificate "$T/site-b.cert.json" --site-state "$T/b.state" "$T/site-b-edit"
expect_exit 0 audit-attest verify-summary --trust "$TRUST" "$T/site-a"
grep -q "verified  site site-a sequence 2" "$T/out" && grep -q "report    matches" "$T/out" || fail "verify-summary: $(cat "$T/out")"
expect_exit 0 audit-verify --trust "$TRUST" "$T/site-a/site-summary.dsse.json" "$T/site-a.cert.json"
grep -q "site-summary of site site-a, sequence 2, report.json matches" "$T/out" || fail "audit-verify: $(cat "$T/out")"

python3 - "$T/site-a/site-summary.dsse.json" "$T/site-a/report.json" <<'PY' || fail "summary content"
import base64, hashlib, json, sys
env = json.load(open(sys.argv[1])); st = json.loads(base64.b64decode(env["payload"]))
report = open(sys.argv[2], "rb").read()
assert st["predicateType"] == "urn:audit-toolkit:site-summary:v1"
assert st["subject"] == [{"name": "report.json", "digest": {"sha256": hashlib.sha256(report).hexdigest()}}]
p = st["predicate"]
assert p["site"] == "site-a" and p["sequence"] == 2 and p["trust_root"]["version"] == 1, p
assert p["counts"]["kaspersky"]["present"] == 1, p["counts"]
r = json.loads(report)
assert sum(len(h["results"]) for h in p["hosts"]) == len(r["results"])
assert len(p["hosts"]) == len({x["host"] for x in r["results"]})
assert all(len(h["host"]) == 64 and h["ids"] and all(len(x["attestation_sha256"]) == 64 for x in h["results"]) for h in p["hosts"])
# Digests only: no hostname and no identifier in clear.
mid = open(sys.argv[2].replace("site-a/report.json", "a-infected/etc/machine-id")).read().strip()
assert mid not in env["payload"] and mid not in json.dumps(p) and "a-infected" not in json.dumps(p)
assert [k["kit"] for k in p["kit_heads"]] == ["kit-site-a"] and p["kit_heads"][0]["sequence"] == 3, p["kit_heads"]
PY

step "HQ roll-up of both sites: a site column, the shared host flagged, not merged"
expect_exit 1 audit-attest rollup --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/hq" \
    --site-state "$T/hq.state" "$T/site-a" "$T/site-b"
grep -q "conflict  an identifier reported by sites" "$T/out" || fail "no conflict line: $(cat "$T/out")"
python3 - "$T/hq/report.json" "$T/hq/report.csv" <<'PY' || fail "roll-up report"
import csv, json, sys
r = json.load(open(sys.argv[1]))
assert [s["site"] for s in r["sites"]] == ["site-a", "site-b"] and [s["sequence"] for s in r["sites"]] == [2, 1]
rows = {(x["site"], x["hostname"]): x for x in r["results"] if x["product"] == "kaspersky"}
assert len(rows) == 5, sorted(rows)
assert rows[("site-a", "a-infected")]["status"] == "present"
assert rows[("site-b", "b-clean")]["status"] == "absent"
for s in ("site-a", "site-b"):
    x = rows[(s, "shared")]
    assert x["status"] == "inconclusive" and "site_identity_conflict" in x["reason_codes"], x
    assert x["site_status"] == "absent", x
conf = [c for c in r["conflicts"] if c.get("kind") == "site_identity_conflict"]
assert conf and all(c["sites"] == ["site-a", "site-b"] for c in conf), r["conflicts"]
assert r["counts"]["present"] == 1 and r["hosts"] == 5, (r["counts"], r["hosts"])
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert list(rows[0].keys())[0] == "site" and {x["site"] for x in rows} == {"site-a", "site-b"}
PY
grep -q '<th>Site</th>' "$T/hq/report.html" && grep -q 'data-site="site-b"' "$T/hq/report.html" || fail "no site column on the page"
grep -q 'It merges the site summaries' "$T/hq/report.html" || fail "the page does not say what it merges"
expect_exit 0 audit-verify --trust "$TRUST" "$T/hq/report.statement.dsse.json"

step "the same summaries again are accepted (nothing newer); a replayed older one is refused"
expect_exit 1 audit-attest rollup --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/hq2" \
    --site-state "$T/hq.state" "$T/site-a" "$T/site-b"
expect_exit 3 audit-attest rollup --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/hq3" \
    --site-state "$T/hq.state" "$T/a1.site-summary.dsse.json" "$T/site-b"
grep -q "site_summary_replay: sequence 1 is older than the last accepted for site site-a (2" "$T/err" || fail "replay: $(cat "$T/err")"
[[ $(json_get "$T/hq3/report.json" "[s['site'] for s in d['sites']]") == "['site-b']" ]] || fail "the replayed summary was used"
# Given alone to a fresh HQ, the older summary and its own report.json verify.
expect_exit 0 audit-attest verify-summary --trust "$TRUST" "$T/a1.site-summary.dsse.json"

step "a summary signed by a key not delegated to its site is refused"
python3 - "$T/site-a/site-summary.dsse.json" "$T/site-b.key" "$T/forged.site-summary.dsse.json" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
env = json.load(open(sys.argv[1]))
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
payload = base64.b64decode(env["payload"])
pae = b"DSSEv1 %d %b %d %b" % (len(env["payloadType"]), env["payloadType"].encode(), len(payload), payload)
env["signatures"] = [{"keyid": env["signatures"][0]["keyid"],
                      "sig": base64.b64encode(key.sign(pae, ec.ECDSA(hashes.SHA384()))).decode()}]
json.dump(env, open(sys.argv[3], "w"))
PY
expect_exit 3 audit-attest verify-summary --trust "$TRUST" "$T/forged.site-summary.dsse.json"
grep -q "not signed by the key the trust root delegated to that site" "$T/err" || fail "forged: $(cat "$T/err")"
expect_exit 3 audit-attest rollup --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/hq4" \
    --site-state "$T/hq-fresh.state" "$T/forged.site-summary.dsse.json" "$T/site-b"
[[ $(json_get "$T/hq4/report.json" "[s['site'] for s in d['sites']]") == "['site-b']" ]] || fail "forged summary used"

step "a report.json that is not the one the summary signs is refused"
cp -r "$T/site-a" "$T/site-a-tampered"
sed -i '0,/"present"/s//"removed"/' "$T/site-a-tampered/report.json"
expect_exit 3 audit-attest verify-summary --trust "$TRUST" "$T/site-a-tampered"
grep -q "report.json of site site-a is not the one its summary signs" "$T/err" || fail "tampered: $(cat "$T/err")"
expect_exit 3 audit-verify --trust "$TRUST" "$T/site-a-tampered/site-summary.dsse.json"
expect_exit 3 audit-verify --trust "$TRUST" "$T/forged.site-summary.dsse.json"
expect_exit 3 audit-attest rollup --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/hq5" \
    --site-state "$T/hq-fresh2.state" "$T/site-a-tampered" "$T/site-b"

step "the summary alone (no report.json) rolls up from its digests"
mkdir -p "$T/only-a" && cp "$T/site-a/site-summary.dsse.json" "$T/only-a/"
expect_exit 1 audit-attest rollup --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/hq6" \
    --site-state "$T/hq-fresh3.state" "$T/only-a"
python3 - "$T/hq6/report.json" <<'PY' || fail "summary-only roll-up"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["sites"][0]["report_included"] is False
assert r["counts"]["present"] == 1 and all(x["host"].startswith("sha256:") and len(x["attestation_sha256"]) == 64 for x in r["results"])
PY
echo "PASS"
