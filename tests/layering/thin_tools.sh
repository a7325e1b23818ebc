#!/usr/bin/env bash
# Issue 15 "thin tools": every file under tools/<tool>/ stays at most 200 lines, so that what a
# tool does lives in libaudit (tested in-process) and a tool is its command line and its output.
# tools/common (the shared command-line layer) and tools/completion are not one tool's code.
# Fails naming each file over the limit.   Usage: thin_tools.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: thin_tools.sh SOURCE_DIR}
limit=200
count=0
over=0
for f in "$src"/tools/*/*.cpp "$src"/tools/*/*.h; do
    case $f in */tools/common/* | */tools/completion/*) continue ;; esac
    [[ -f $f ]] || continue
    count=$((count + 1))
    n=$(wc -l <"$f")
    if ((n > limit)); then
        echo "FAIL: ${f#"$src"/}: $n lines (over $limit: move the work into libaudit)" >&2
        over=$((over + 1))
    fi
done
((count > 0)) || { echo "FAIL: no tool sources under $src/tools" >&2; exit 1; }
((over == 0)) || exit 1
echo "$count tool files, each at most $limit lines"
