#!/usr/bin/env bash
# Build the ledger's SQLite (audit-attest, and the tests that make SQLite databases) from Debian's
# source package: upstream tarball + Debian's patches, pinned by SHA-256 (cmake/deb-source.sh).
# Usage: [CC=... AR=...] build-sqlite.sh WORKDIR -> WORKDIR/prefix/{include/sqlite3.h,lib/libsqlite3.a}
# CC/AR name the target's compiler (default gcc/ar; cmake/windows/build-deps.sh passes mingw's).
#
# Lean, unlike Debian's libsqlite3.a: no FTS3/4/5, R-tree, sessions, math or JSON functions,
# and the SQLITE_OMIT_* features below, which no SQL of the toolkit uses (libaudit/src/attest,
# tools/, tests/unit: see README "Build facts"). The amalgamation is generated here by host tools
# (tclsh, lemon) with the same SQLITE_OMIT_* options, so that the parser and keyword table match
# the compiled code (an OMIT option applied to a prebuilt amalgamation is unsupported). Sections
# per function and object, so that --gc-sections keeps only what a tool calls. Cached in WORKDIR
# behind a stamp of the pins, the options, the compiler and this script.
set -euo pipefail
work=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deb-source.sh
. "$here/deb-source.sh"
cc=${CC:-gcc} ar=${AR:-ar}

pool=pool/main/s/sqlite3
orig=sqlite3_3.40.1.orig.tar.xz
orig_sha=aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655
deb=sqlite3_3.40.1-2+deb12u2.debian.tar.xz
deb_sha=0843bc12e4364076477935ce313a6d0796fd899a989ff18ebb6545540e10e4ca

# Left out: what the ledger's SQL (schema, views, migrations, pragmas, ON CONFLICT upserts,
# pragma_table_info, which needs virtual tables) and the tests' SQL (page sizes, reserved bytes,
# UTF-16, auto-vacuum, WAL, WITHOUT ROWID, blob literals) never use.
omit=(
    SQLITE_OMIT_LOAD_EXTENSION SQLITE_OMIT_DEPRECATED SQLITE_OMIT_SHARED_CACHE
    SQLITE_OMIT_PROGRESS_CALLBACK SQLITE_OMIT_TRACE SQLITE_OMIT_COMPLETE SQLITE_OMIT_GET_TABLE
    SQLITE_OMIT_TCL_VARIABLE SQLITE_OMIT_AUTHORIZATION SQLITE_OMIT_INCRBLOB
    SQLITE_OMIT_DESERIALIZE SQLITE_OMIT_JSON SQLITE_OMIT_WINDOWFUNC SQLITE_OMIT_DATETIME_FUNCS
    SQLITE_OMIT_EXPLAIN SQLITE_OMIT_DECLTYPE SQLITE_OMIT_ANALYZE SQLITE_OMIT_REINDEX
    SQLITE_OMIT_GENERATED_COLUMNS
)
# SQLite's recommended options that change no result the toolkit relies on.
defines=(SQLITE_THREADSAFE=1 SQLITE_DEFAULT_MEMSTATUS=0 SQLITE_UNTESTABLE SQLITE_USE_ALLOCA)
omit_flags=$(printf -- '-D%s ' "${omit[@]}")
define_flags=$(printf -- '-D%s ' "${defines[@]}")
cflags="-O2 -ffunction-sections -fdata-sections"

exec 9>"$work/.lock"
flock 9
stamp="$work/prefix/.stamp-$(cat "$0" "$here/deb-source.sh" | sha256sum | cut -c1-12)-$(echo "$cc $ar" | sha256sum | cut -c1-12)"
[[ -f "$stamp" ]] && exit 0

src=$work/src
deb_source_unpack "$work" "$pool" "$orig" "$orig_sha" "$deb" "$deb_sha" "$src"
echo "building SQLite 3.40.1 (lean, ${#omit[@]} features left out) with $cc"
log() { "$@" >"$src/.build.log" 2>&1 || { tail -30 "$src/.build.log" >&2; echo "build-sqlite: failed: $*" >&2; exit 1; }; }
mkdir -p "$src/bld"
cd "$src/bld"
# The amalgamation, by the host's compiler and tclsh; configure keeps the OMIT options for lemon
# and mkkeywordhash (OPT_FEATURE_FLAGS).
CC=gcc CFLAGS="$omit_flags" CPPFLAGS= LDFLAGS= log ../configure --disable-tcl --disable-readline \
    --disable-shared --disable-load-extension --disable-math --disable-json --disable-fts3 \
    --disable-fts4 --disable-fts5 --disable-rtree --disable-session
log make sqlite3.c
# shellcheck disable=SC2086
log "$cc" $cflags -ffile-prefix-map="$src"=. $omit_flags $define_flags -c sqlite3.c -o sqlite3.o
rm -rf "$work/prefix" && mkdir -p "$work/prefix/include" "$work/prefix/lib"
log "$ar" rcs "$work/prefix/lib/libsqlite3.a" sqlite3.o
cp sqlite3.h sqlite3ext.h "$work/prefix/include/"
touch "$stamp"
