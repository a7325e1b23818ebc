#!/usr/bin/env bash
# Fetch Catch2 v3 (bookworm ships only v2) from the Debian source package's pinned tarball.
# Usage: fetch-catch2.sh WORKDIR -> WORKDIR/src/extras/catch_amalgamated.{hpp,cpp}
set -euo pipefail
work=$1
here=$(cd "$(dirname "$0")" && pwd)
version=3.7.1
[[ -f "$work/src/extras/catch_amalgamated.cpp" ]] && exit 0
"$here/fetch-deb-source.sh" pool/main/c/catch2/catch2_${version}.orig.tar.gz \
    c991b247a1a0d7bb9c39aa35faf0fe9e19764213f28ffba3109388e62ee0269c "$work/catch2_${version}.orig.tar.gz"
rm -rf "$work/src" && mkdir -p "$work/src"
tar -C "$work/src" --strip-components=1 -xzf "$work/catch2_${version}.orig.tar.gz"
