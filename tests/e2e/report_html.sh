#!/usr/bin/env bash
# The fleet report's HTML page as a browser shows it: headless Chromium renders report.html and
# dumps its DOM; the counts, the hosts needing attention (hostile host names included, as text)
# and the charts must be what report.json says. Skipped (exit 77) when chromium is not installed:
# it is a large download, installed by cmake/install-deps.sh only with AUDIT_WITH_CHROMIUM=1.
source "$(dirname "$0")/lib.sh"
if ! command -v chromium >/dev/null; then
    echo "SKIP: chromium is not installed (AUDIT_WITH_CHROMIUM=1 bash cmake/install-deps.sh)"
    exit 77
fi

step "a small fleet whose host names are hostile markup"
audit-keys init --dir "$T/auth" --no-passphrase >/dev/null
TRUST="$T/auth/trust.json"
audit-fleet-gen --auth "$T/auth" --out "$T/ev" --hosts 60 --items 4 --seed 5 \
    --hostname '<script>document.title="owned"</script>' \
    --hostname '<img src=x onerror=alert(1)>' \
    --hostname "O'Neil & Sons \"lab\"" >"$T/gen.json"
expect_exit 3 audit-attest import --ledger "$T/l.sqlite" --trust "$TRUST" "$T/ev"
expect_exit 1 audit-attest report --ledger "$T/l.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --campaign-start 2026-01-05

step "nothing on the page reaches outside it"
H="$T/report/report.html"
[[ $(grep -o 'https\?://[^"]*' "$H" | sort -u) == "http://www.w3.org/2000/svg" ]] || fail "a URL other than the SVG namespace"

step "render with headless chromium"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --dump-dom "file://$H" >"$T/dom.html" 2>"$T/chromium.log" || fail "chromium failed: $(tail -5 $T/chromium.log)"
[[ -s "$T/dom.html" ]] || fail "chromium produced no DOM"

step "what the page shows"
python3 - "$T/dom.html" "$T/report/report.json" <<'PY' || fail "the rendered page does not show the report"
import json, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.ids, self.rows, self.cell, self.in_att = [], [], {}, [], None, False
        self.title, self.links = "", []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.links += [k for k in a if k in ("src", "href", "xlink:href", "action", "data")]
        self.stack.append((tag, a.get("id")))
        if a.get("id") == "attention-table": self.in_att = True
        if self.in_att and tag == "tr": self.rows.append([])
        if self.in_att and tag == "td": self.cell = ""
    def handle_endtag(self, tag):
        if self.in_att and tag == "td" and self.rows:
            self.rows[-1].append(self.cell); self.cell = None
        if tag == "table": self.in_att = False
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag: break
    def handle_data(self, data):
        for _, i in self.stack:
            if i: self.ids[i] = self.ids.get(i, "") + data
        if self.cell is not None: self.cell += data
        if self.stack and self.stack[-1][0] == "title" and any(t == "head" for t, _ in self.stack):
            self.title += data

p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
r = json.load(open(sys.argv[2]))
ok = True
def check(cond, msg):
    global ok
    if not cond: print("FAIL:", msg); ok = False

check(not p.links, "an element loads something: " + str(p.links))
check(p.title == "Removal attestation report", f"title changed: {p.title!r} (a script ran?)")
check("script" not in p.tags and "img" not in p.tags and "iframe" not in p.tags,
      "evidence became markup: " + str(sorted(set(p.tags))))
for s in ["removed", "absent", "present", "inconclusive"]:
    shown = p.ids.get("count-" + s, "").replace(s, "").strip()
    check(shown == str(r["counts"][s]), f"{s}: page shows {shown!r}, report.json {r['counts'][s]}")
check(p.ids.get("count-hosts", "").replace("hosts", "").strip() == str(r["hosts"]), "host count")
check(p.ids.get("count-rejected", "").split("bundles")[0].strip() == str(len(r["rejected"])), "rejected count")
attention = sorted(x["hostname"] for x in r["results"] if x["status"] in ("present", "inconclusive"))
shown = sorted(row[0] for row in p.rows if row)
check(shown == attention, f"attention rows differ:\n page {shown}\n json {attention}")
for name in ['<script>document.title="owned"</script>', "<img src=x onerror=alert(1)>", "O'Neil & Sons \"lab\""]:
    check(name in shown, f"hostile host name not shown as text: {name}")
check("chart-products" in p.ids or "svg" in p.tags, "product chart missing")
check(p.tags.count("polyline") == 2, "progress chart lines missing")
check(p.tags.count("rect") >= 4, "product chart bars missing")
scanned = int(p.ids.get("scanned-30", "-1"))
check(0 < scanned <= len(r["results"]), f"day-30 milestone {scanned}")
sys.exit(0 if ok else 1)
PY
echo "PASS"
