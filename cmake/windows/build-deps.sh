#!/usr/bin/env bash
# Cross-build the toolkit's dependencies for Windows x86_64 (mingw-w64, posix threads), static.
# Usage: build-deps.sh WORKDIR -> WORKDIR/prefix/{include,lib} (zlib, liblzma, libzstd, libarchive)
#        and WORKDIR/botan/prefix (Botan 3.7.1, the Linux build's pin and module list).
# Every source is a Debian bookworm source package (upstream tarball + Debian's patches), fetched
# through the machine's own apt sources and pinned by SHA-256 (cmake/deb-source.sh).
# Each library is cached in WORKDIR behind a stamp of its pins and flags. AUDIT_JOBS sets -j.
set -euo pipefail
work=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../deb-source.sh
. "$here/../deb-source.sh"
host=x86_64-w64-mingw32
jobs=${AUDIT_JOBS:-$(nproc)}
prefix=$work/prefix
export CC=$host-gcc-posix CXX=$host-g++-posix AR=$host-ar RANLIB=$host-ranlib
# Sections per function like the Linux static build; no dllimport in the static headers.
export CFLAGS="-O2 -ffunction-sections -fdata-sections"
export CPPFLAGS="-I$prefix/include -DLZMA_API_STATIC -DLIBARCHIVE_STATIC"
export LDFLAGS="-L$prefix/lib -static"
mkdir -p "$prefix/include" "$prefix/lib"

# name pool-dir orig-file orig-sha256 debian-file debian-sha256
# (pool paths under pool/updates/ are the security archive's; the fetcher tries every apt source)
pins=(
    "zlib pool/main/z/zlib zlib_1.2.13.dfsg.orig.tar.bz2 71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1 zlib_1.2.13.dfsg-1.debian.tar.xz f66cf3d4f2d7defcd4d1fd1fb0a11ee39f1e01b42ec7d059c9dc5c1695133c44"
    "xz pool/main/x/xz-utils xz-utils_5.4.1.orig.tar.xz 5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5 xz-utils_5.4.1-1.debian.tar.xz 17fdce0230999e3e19796a5a77c74d297fbaf41c6db0d21b07f76a2be1dd66c8"
    "zstd pool/main/libz/libzstd libzstd_1.5.4+dfsg2.orig.tar.xz 8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953 libzstd_1.5.4+dfsg2-5.debian.tar.xz 82ce911445772861d0838bd4545f93bc50658bc7f3cefdb17a307dfb8ffca5d8"
    "libarchive pool/updates/main/liba/libarchive libarchive_3.6.2.orig.tar.xz 9e2c1b80d5fbe59b61308fdfab6c79b5021d7ff4ff2489fb12daf0a96a83551d libarchive_3.6.2-1+deb12u5.debian.tar.xz 5b32794076e9b0d8cd74fd2c453340b72c6362188f40fa1aac96304cb5683315"
)

# Fetch, unpack and patch one package into $work/NAME/src; skip when its stamp is current.
# Sets $src. Returns 1 when the library is already built.
prepare() {
    local name=$1 dir=$2 orig=$3 orig_sha=$4 deb=$5 deb_sha=$6
    stamp="$prefix/.stamp-$name-$(echo "$orig_sha $deb_sha $CC $CFLAGS $CPPFLAGS ${7:-}" | sha256sum | cut -c1-16)"
    [[ -f "$stamp" ]] && return 1
    src=$work/$name/src
    deb_source_unpack "$work/$name" "$dir" "$orig" "$orig_sha" "$deb" "$deb_sha" "$src" || exit 1
    echo "building $name for $host"
    return 0
}
pin() { local p; for p in "${pins[@]}"; do [[ $p == "$1 "* ]] && { echo "$p"; return; }; done; }
log() { "$@" >"$src/.build.log" 2>&1 || { tail -30 "$src/.build.log" >&2; echo "build-deps: failed: $*" >&2; exit 1; }; }

# Botan: the Linux build's script, pin and module list, for the mingw target. Its amalgamation is
# one long serial compile, the critical path of this script: it runs in the background, on one
# core, while the C libraries below build on the other (AUDIT_JOBS=2).
mkdir -p "$work/botan"
(
    TIMEFORMAT="Botan for $host: %0R s wall, %0U s user + %0S s sys CPU"
    time AUDIT_JOBS=$jobs CFLAGS= CPPFLAGS= LDFLAGS= bash "$here/../build-botan.sh" "$work/botan" \
        --os=mingw --cc-bin="$CXX" --ar-command="$AR"
) >"$work/botan.log" 2>&1 &
botan_pid=$!
trap 'kill "$botan_pid" 2>/dev/null || true' EXIT

# shellcheck disable=SC2046
if prepare $(pin zlib); then
    # Debian's dfsg tarball has no win32/ makefiles: the library is its top-level C files.
    (cd "$src" && for c in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast \
        inflate inftrees trees uncompr zutil; do log "$CC" $CFLAGS -c $c.c -o $c.o; done &&
        log "$AR" rcs libz.a ./*.o)
    cp "$src/libz.a" "$prefix/lib/" && cp "$src/zlib.h" "$src/zconf.h" "$prefix/include/"
    touch "$stamp"
fi
# shellcheck disable=SC2046
if prepare $(pin xz); then
    (cd "$src" && log ./configure --host=$host --prefix="$prefix" --enable-static --disable-shared \
        --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo --disable-lzma-links \
        --disable-scripts --disable-doc --disable-nls --enable-threads=vista)
    log make -C "$src/src/liblzma" -j"$jobs" && log make -C "$src/src/liblzma" install
    touch "$stamp"
fi
# shellcheck disable=SC2046
if prepare $(pin zstd); then
    log make -C "$src/lib" -j"$jobs" libzstd.a CC="$CC" AR="$AR" ZSTD_LEGACY_SUPPORT=0 HAVE_THREAD=0 \
        MOREFLAGS="$CFLAGS"
    cp "$src/lib/libzstd.a" "$prefix/lib/"
    cp "$src/lib/zstd.h" "$src/lib/zstd_errors.h" "$src/lib/zdict.h" "$prefix/include/"
    touch "$stamp"
fi
# shellcheck disable=SC2046
if prepare $(pin libarchive); then
    # Only what the bundle (pax tar + zstd) and the sources' readers use; crypto off (the
    # toolkit hashes with Botan), no XML, no iconv.
    (cd "$src" && log ./configure --host=$host --prefix="$prefix" --enable-static --disable-shared \
        --disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-bsdunzip --disable-acl --disable-xattr \
        --with-zlib --with-lzma --with-zstd --without-bz2lib --without-lz4 --without-libb2 \
        --without-xml2 --without-expat --without-openssl --without-nettle --without-mbedtls \
        --without-cng --without-iconv --without-lzo2)
    log make -C "$src" -j"$jobs" libarchive.la && log make -C "$src" install-libLTLIBRARIES install-includeHEADERS
    touch "$stamp"
fi
# No SQLite: only the ledger (audit-attest) uses it, and no Windows tool has a ledger. When
# audit-attest.exe is built, cross-build it here with the Linux build's cmake/build-sqlite.sh
# (CC=$CC AR=$AR bash "$here/../build-sqlite.sh" "$work/sqlite3").

# Botan waits for its background build (started above).
trap - EXIT
if ! wait "$botan_pid"; then
    cat "$work/botan.log" >&2
    echo "build-deps: Botan failed" >&2
    exit 1
fi
cat "$work/botan.log"
