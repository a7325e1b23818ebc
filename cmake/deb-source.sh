# Sourced by the scripts that build a dependency from its Debian source package
# (cmake/build-sqlite.sh, cmake/windows/build-deps.sh); not run on its own.
#
# deb_source_unpack CACHE POOL_DIR ORIG ORIG_SHA256 DEBIAN DEBIAN_SHA256 SRC
#   Fetches the upstream tarball and Debian's packaging into CACHE through the machine's apt
#   sources, each pinned by SHA-256 (cmake/fetch-deb-source.sh), unpacks them into a fresh SRC and
#   applies Debian's quilt series in order (security fixes among them). The patches that touch
#   configure.ac/Makefile.am change only tests and options the toolkit does not use: the tarball's
#   generated build files are kept (no autotools regeneration).
deb_source_unpack() {
    local cache=$1 dir=$2 orig=$3 orig_sha=$4 deb=$5 deb_sha=$6 src=$7
    local fetch
    fetch="$(dirname "${BASH_SOURCE[0]}")/fetch-deb-source.sh"
    # Every step checked here: callers may run this where `set -e` does not apply (an `if`).
    mkdir -p "$cache" || return 1
    "$fetch" "$dir/$orig" "$orig_sha" "$cache/$orig" || return 1
    "$fetch" "$dir/$deb" "$deb_sha" "$cache/$deb" || return 1
    rm -rf "$src" && mkdir -p "$src" || return 1
    tar -C "$src" --strip-components=1 -xf "$cache/$orig" || return 1
    tar -C "$src" -xf "$cache/$deb" || return 1
    if [[ -f "$src/debian/patches/series" ]]; then
        local p
        while read -r p _; do
            [[ -z "$p" || "$p" == \#* ]] && continue
            patch -d "$src" -p1 -s -N <"$src/debian/patches/$p" >/dev/null ||
                { echo "deb-source: $orig: patch $p does not apply" >&2; return 1; }
        done <"$src/debian/patches/series"
        find "$src" -name aclocal.m4 -exec touch {} +
        find "$src" \( -name configure -o -name 'config.h.in' \) -exec touch {} +
        find "$src" -name Makefile.in -exec touch {} +
    fi
    return 0
}
