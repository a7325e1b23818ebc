#!/usr/bin/env bash
# The fleet report's HTML page as a browser shows it: headless Chromium renders report.html and
# dumps its DOM; the counts, the hosts needing attention (hostile host names included, as text)
# and the charts must be what report.json says; the agency title (hostile markup too) and the
# removal plan section; printed to PDF (print stylesheet), pdftotext reads the sections back. Skipped (exit 77) when chromium is not installed:
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
TITLE='Agency <b>X</b> & "Y": BOD 17-01 campaign'
expect_exit 1 audit-attest report --ledger "$T/l.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/titled" --campaign-start 2026-01-05 --title "$TITLE"

step "nothing on the page reaches outside it"
H="$T/report/report.html"
[[ $(grep -o 'https\?://[^"]*' "$H" | sort -u) == "http://www.w3.org/2000/svg" ]] || fail "a URL other than the SVG namespace"

step "render with headless chromium"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --dump-dom "file://$H" >"$T/dom.html" 2>"$T/chromium.log" || fail "chromium failed: $(tail -5 $T/chromium.log)"
[[ -s "$T/dom.html" ]] || fail "chromium produced no DOM"

step "what the page shows"
python3 - "$T/dom.html" "$T/report/report.json" "$T/report/removal-plan.csv" <<'PY' || fail "the rendered page does not show the report"
import json, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.ids, self.rows, self.cell, self.in_att = [], [], {}, [], None, False
        self.title, self.links = "", []
        self.in_plan, self.plan_rows, self.pcell = False, [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.links += [k for k in a if k in ("src", "href", "xlink:href", "action", "data")]
        self.stack.append((tag, a.get("id")))
        if a.get("id") == "attention-table": self.in_att = True
        if a.get("id") == "plan-table": self.in_plan = True
        if self.in_plan and tag == "tr": self.plan_rows.append([])
        if self.in_plan and tag == "td": self.pcell = ""
        if self.in_att and tag == "tr": self.rows.append([])
        if self.in_att and tag == "td": self.cell = ""
    def handle_endtag(self, tag):
        if self.in_att and tag == "td" and self.rows:
            self.rows[-1].append(self.cell); self.cell = None
        if self.in_plan and tag == "td" and self.plan_rows:
            self.plan_rows[-1].append(self.pcell); self.pcell = None
        if tag == "table": self.in_att = False; self.in_plan = False
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag: break
    def handle_data(self, data):
        for _, i in self.stack:
            if i: self.ids[i] = self.ids.get(i, "") + data
        if self.cell is not None: self.cell += data
        if self.pcell is not None: self.pcell += data
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
import csv
plan = list(csv.DictReader(open(sys.argv[3], newline="")))
check(len(r["removal_plan"]) == len(plan) and plan, f"removal plan: json {len(r['removal_plan'])}, csv {len(plan)}")
shown = [row for row in p.plan_rows if row]
check(len(shown) == min(len(plan), 2000), f"plan rows on the page: {len(shown)} of {len(plan)}")
check(sorted((x[3], x[1], x[2]) for x in shown) == sorted((x["hostname"], x["name"], x["version"]) for x in plan),
      "plan rows differ from removal-plan.csv")
present = {x["hostname"] for x in r["results"] if x["status"] == "present"}
check({x[3] for x in shown} <= present, "a plan row for a host that is not present")
check("far" in p.ids and p.ids.get("far-records", "").strip() == str(r["far_52_204_23"]["records"]), "FAR summary")
sys.exit(0 if ok else 1)
PY

step "the agency title, as text"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --dump-dom "file://$T/titled/report.html" >"$T/titled.html" 2>"$T/chromium.log" || fail "chromium failed"
python3 - "$T/titled.html" "$TITLE" <<'PY' || fail "title not shown as text"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack, self.text, self.inner = [], {"title": "", "h1": ""}, []
    def handle_starttag(self, tag, attrs):
        if "h1" in self.stack or ("title" in self.stack and "head" in self.stack): self.inner.append(tag)
        self.stack.append(tag)
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag: pass
    def handle_data(self, d):
        if "h1" in self.stack: self.text["h1"] += d
        elif "head" in self.stack and "title" in self.stack: self.text["title"] += d
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
ok = p.text["title"] == sys.argv[2] and p.text["h1"] == sys.argv[2] and not p.inner
print(p.text, p.inner) if not ok else None
sys.exit(0 if ok else 1)
PY

step "print to PDF (the print stylesheet) and read it back with pdftotext"
command -v pdftotext >/dev/null || fail "pdftotext missing (apt-get install poppler-utils)"
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --no-pdf-header-footer --print-to-pdf="$T/report.pdf" "file://$T/titled/report.html" \
    >"$T/pdf.log" 2>&1 || fail "chromium --print-to-pdf failed: $(tail -5 "$T/pdf.log")"
[[ -s "$T/report.pdf" ]] || fail "no PDF written"
pdftotext -layout "$T/report.pdf" "$T/report.txt"
for heading in 'Agency <b>X</b> & "Y": BOD 17-01 campaign' "Summary" "Status per product" "Removal progress" \
    "Hosts needing attention" "Removal plan (" "FAR 52.204-23 draft" "Bundles rejected"; do
    grep -qF "$heading" "$T/report.txt" || fail "the PDF lacks '$heading'"
done
# The print stylesheet starts the removal plan on a page of its own: a form feed before it.
python3 - "$T/report.txt" <<'PY' || fail "the removal plan does not start a new page"
import sys
t = open(sys.argv[1], encoding="utf-8").read()
before = t[:t.index("Removal plan (")].rstrip(" \n")
sys.exit(0 if before.endswith("\f") else 1)
PY
echo "PASS"
