#!/usr/bin/env bash
# The parallel walk through the tool: --jobs 1 and --jobs 4 give the same bundle content; every
# file digest is that of sha256sum (and openssl dgst -sha384 with the CNSA profile); a FIFO does
# not block the scan; a link out of the root is recorded, never followed; the scopes hash what
# they say (all, packages = every file a package database lists, matched = the manifests' areas);
# the scan leaves nothing behind but the bundle; bad --digests/--jobs/--hash-scope exit 2.
source "$(dirname "$0")/lib.sh"

new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() {  # scan ROOT OUTDIR [options]
    local root=$1 out=$2; shift 2
    timeout 300 audit-scan --root "$root" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --out "$out" --json "$@"
}
content() { tar --zstd -xOf "$1" "$2"; }
bundle_of() { json_get "$T/out" "d['bundle']"; }

step "fixture root: a dpkg database with one unrelated package, a Kaspersky path, odd entries"
R="$T/host"
bash "$FIXTURES/dpkg-root.sh" init "$R"
deb=$(DEB_MAINTAINER="Someone <s@example.invalid>" bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" hello 1.0 /usr/bin/hello /usr/share/hello/data)
bash "$FIXTURES/dpkg-root.sh" install "$R" "$deb"
mkdir -p "$R/opt/kaspersky/kesl/bin" "$R/srv/data" "$T/outside"
echo "kesl binary" >"$R/opt/kaspersky/kesl/bin/kesl"
for d in 1 2 3 4 5 6; do
    mkdir -p "$R/srv/data/d$d"
    for f in $(seq 1 40); do head -c $((d * 131 + f * 7)) /dev/urandom >"$R/srv/data/d$d/f$f"; done
done
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom >"$R/srv/big.bin"
: >"$R/srv/empty"
printf 'odd\n' >"$R/srv/name with spaces"
mkfifo "$R/srv/fifo"
echo SECRET >"$T/outside/secret"
ln -s "$T/outside" "$R/srv/out-abs"
ln -s ../../outside "$R/srv/out-rel"
before=$(cd "$R" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)

step "--hash-scope all with --jobs 1 and --jobs 4: the same content files"
expect_exit 1 scan "$R" "$T/e1" --hash-scope all --jobs 1
b1=$(bundle_of)
expect_exit 1 scan "$R" "$T/e4" --hash-scope all --jobs 4
b4=$(bundle_of)
for f in files.jsonl findings.json coverage.json inventory.jsonl host.json; do
    cmp -s <(content "$b1" $f) <(content "$b4" $f) || fail "$f differs between --jobs 1 and --jobs 4"
done
after=$(cd "$R" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"
for e in "$T/e1" "$T/e4"; do
    left=$(find "$e" -mindepth 1 ! -name '*.evidence.tar.zst' ! -name '*.chain-head.dsse.json' ! -name '.kit-*' ! -name '.trust-state.json*' | head -1)
    [[ -z "$left" ]] || fail "the scan left $left behind"
done

step "files.jsonl: sorted, one line per path, digests of sha256sum, links and FIFOs recorded"
content "$b4" files.jsonl >"$T/files.jsonl"
python3 - "$T/files.jsonl" "$R" "$T/outside/secret" <<'EOF'
import hashlib, json, os, subprocess, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
root, secret = sys.argv[2], open(sys.argv[3], "rb").read()
paths = [l["path"] for l in lines]
assert paths == sorted(paths, key=lambda p: p.encode()), "files.jsonl is not sorted by path"
assert len(paths) == len(set(paths)), "a path appears twice"
by = {l["path"]: l for l in lines}
files = [l for l in lines if l["type"] == "file"]
assert len(files) >= 245, len(files)
names = [os.path.join(root, l["path"][1:]) for l in files]
out = subprocess.run(["sha256sum", "--"] + names, check=True, capture_output=True, text=True).stdout
want = {}
for line in out.splitlines():
    digest, name = line.split(" ", 1)
    want[name[1:]] = digest
for l, n in zip(files, names):
    assert l.get("sha256") == want[n], (l["path"], l.get("sha256"), want[n])
    assert "sha384" not in l, "sha384 computed without the CNSA profile"
assert by["/srv/fifo"]["type"] == "fifo" and "sha256" not in by["/srv/fifo"]
assert by["/srv/out-abs"]["type"] == "symlink"
assert by["/srv/out-rel"]["link"] == "../../outside"
assert not any(p.startswith(("/srv/out-abs/", "/srv/out-rel/")) for p in paths), "a link out of the root was followed"
assert hashlib.sha256(secret).hexdigest() not in {l.get("sha256") for l in lines}
EOF
[[ $(content "$b4" coverage.json | python3 -c "import json,sys; print(json.load(sys.stdin)['walk']['digests'])") == "['sha256']" ]] \
    || fail "coverage does not record the digest policy"

step "CNSA profile: sha256 and sha384 from one read, as openssl computes them"
expect_exit 1 scan "$R" "$T/e-cnsa" --hash-scope all --digests sha256,sha384
content "$(bundle_of)" files.jsonl >"$T/cnsa.jsonl"
big384=$(openssl dgst -sha384 -r "$R/srv/big.bin" | cut -d' ' -f1)
grep -F '"path":"/srv/big.bin"' "$T/cnsa.jsonl" | grep -qF "\"sha384\":\"$big384\"" || fail "sha384 of big.bin differs from openssl"
grep -F '"path":"/srv/big.bin"' "$T/cnsa.jsonl" | grep -qF "\"sha256\":\"$(sha256sum "$R/srv/big.bin" | cut -d' ' -f1)\"" \
    || fail "sha256 missing from the CNSA profile"

step "--hash-scope packages: every packaged file, not the unpackaged ones"
expect_exit 1 scan "$R" "$T/e-pkg" --hash-scope packages
content "$(bundle_of)" files.jsonl >"$T/pkg.jsonl"
grep -qF '"path":"/usr/share/hello/data"' "$T/pkg.jsonl" || fail "a packaged file was not hashed"
grep -F '"path":"/usr/bin/hello"' "$T/pkg.jsonl" | grep -q '"sha256"' || fail "a packaged file has no digest"
grep -qF '"path":"/srv/big.bin"' "$T/pkg.jsonl" && fail "an unpackaged file was hashed in the packages scope"
grep -qF '"path":"/opt/kaspersky/kesl/bin/kesl"' "$T/pkg.jsonl" || fail "the manifests' paths are not walked"

step "--hash-scope matched (default): the manifests' areas only"
expect_exit 1 scan "$R" "$T/e-m"
content "$(bundle_of)" files.jsonl >"$T/m.jsonl"
grep -qF '"path":"/opt/kaspersky/kesl/bin/kesl"' "$T/m.jsonl" || fail "the Kaspersky path was not recorded"
grep -qF '"path":"/usr/share/hello/data"' "$T/m.jsonl" && fail "an unmatched package's file was hashed"
grep -qF '"path":"/srv/big.bin"' "$T/m.jsonl" && fail "a file outside the manifests' areas was hashed"
json_get "$T/out" "d['present']" | grep -q kaspersky || fail "the Kaspersky path did not make the product present"

step "bad --digests, --jobs, --hash-scope -> exit 2"
expect_exit 2 scan "$R" "$T/e-bad" --digests md5
grep -q "unknown file digest 'md5'" "$T/err" || fail "no message for --digests md5"
expect_exit 2 scan "$R" "$T/e-bad" --jobs many
expect_exit 2 scan "$R" "$T/e-bad" --hash-scope everything
echo "parallel_scan: ok"
