#!/usr/bin/env python3
"""Unity builds (AUDIT_UNITY) compile each libaudit area as one translation unit, so a name defined
at file scope (an anonymous namespace, or static) in two .cpp files of one area is either an error or, worse, silently the other
file's: a constant or an overload that the second file meant to be its own (a real case: pe_files
read macho_files' kDirs). Fails naming every name that two files of an area define in the same
namespace. NAME.cpp and its Windows port NAME_win.cpp never share a build, so they may repeat
names; any other pair may not. Usage: unity_names.py SOURCE_DIR"""
import collections
import glob
import os
import re
import sys

DEF = re.compile(
    r"^(?:template\s*<[^>]*>\s*)?(?:\[\[\w+\]\]\s*)?(?:(?:static|inline|constexpr|const|extern|"
    r"thread_local|unsigned|signed)\s+)*[A-Za-z_][\w:<>,\s\*&]*?[\s\*&]([A-Za-z_]\w*)\s*(?:\(|\[|=|\{|;)")
TYPE = re.compile(r"^(?:struct|class|enum class|enum|union)\s+([A-Za-z_]\w*)\b(?!\s*;)")
ALIAS = re.compile(r"^using\s+([A-Za-z_]\w*)\s*=")
NS_OPEN = re.compile(r"^namespace\s*([\w:]*)\s*\{\s*(//.*)?$")
RAW_OPEN = re.compile(r'R"([^(\s]*)\(')
NS_CLOSE = re.compile(r"^\}\s*//\s*namespace")
SKIP = ("return", "namespace", "using namespace", "else", "if", "for", "while", "switch", "case",
        "#", "//", "/*", " ", "\t", "}", "TEST_CASE", "AUDIT_", "CREATE ", "SELECT ", "INSERT ")


def names(path):
    stack, out = [], set()
    with open(path, encoding="utf-8", errors="replace") as f:
        raw_end = None  # inside a raw string literal (SQL, CSS): its closing ")delim\""
        for line in f:
            if raw_end:
                if raw_end in line:
                    raw_end = None
                continue
            r = RAW_OPEN.search(line)
            if r and (")" + r.group(1) + '"') not in line[r.end():]:
                raw_end = ")" + r.group(1) + '"'
            m = NS_OPEN.match(line)
            if m:
                stack.append(m.group(1) or "{anonymous}")
                continue
            if NS_CLOSE.match(line):
                if stack:
                    stack.pop()
                continue
            if not stack or line.startswith(SKIP):
                continue
            for rx in (TYPE, ALIAS, DEF):
                m = rx.match(line)
                if m:
                    name = m.group(1)
                    # Only file-local names: public ones are shared by every build anyway.
                    local = "{anonymous}" in stack or line.startswith("static ")
                    if local and name != "operator":
                        out.add(("::".join(stack), name))
                    break
    return out


def main():
    src = sys.argv[1]
    bad = 0
    files = 0
    for area in sorted(glob.glob(os.path.join(src, "libaudit/src/*/"))):
        seen = collections.defaultdict(list)
        for path in sorted(glob.glob(os.path.join(area, "*.cpp"))):
            files += 1
            for key in names(path):
                seen[key].append(os.path.basename(path))
        for (ns, name), where in sorted(seen.items()):
            if len(where) < 2:
                continue
            stems = {w[:-8] + ".cpp" if w.endswith("_win.cpp") else w for w in where}
            if len(stems) < 2:
                continue  # NAME.cpp and NAME_win.cpp: never in one build
            print(f"FAIL: {os.path.basename(area.rstrip('/'))}: {ns}::{name} is defined in "
                  f"{', '.join(where)} (one unity translation unit: rename it in all but one)",
                  file=sys.stderr)
            bad += 1
    if files == 0:
        print("FAIL: no libaudit sources under " + src, file=sys.stderr)
        return 1
    if bad:
        return 1
    print(f"{files} libaudit files: no namespace-scope name defined twice within an area")
    return 0


if __name__ == "__main__":
    sys.exit(main())
