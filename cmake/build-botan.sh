#!/usr/bin/env bash
# Build a minimal static Botan 3 from the Debian source package's pinned upstream tarball.
# Usage: build-botan.sh WORKDIR [CONFIGURE_ARG...] -> WORKDIR/prefix/{include/botan-3,lib/libbotan-3.a}
# Only the modules the toolkit uses are enabled; the result is cached in WORKDIR. Extra arguments
# go to Botan's configure.py (the Windows cross-build: cmake/windows/build-deps.sh).
set -euo pipefail
work=$1
shift
target_args=("$@")
here=$(cd "$(dirname "$0")" && pwd)
version=3.7.1
pool=pool/main/b/botan3/botan3_${version}+dfsg.orig.tar.xz
sha256=b164e8debd53d22e6b6dc6729388e798c935d1e4251c5d41e07397a57bbf2413
modules=(
    sha2_32 sha2_32_x86 sha2_32_bmi2 sha2_64 sha2_64_bmi2 sha3 hmac hash_id
    ecdsa pcurves_secp384r1 ed25519 ml_dsa hss_lms
    system_rng auto_rng hmac_drbg
    pem pbes2 pbkdf2 argon2 aes aes_ni aes_vperm gcm cbc
    x509 emsa_pkcs1 rsa sha1
)
# Sections per function: the static tools link with --gc-sections and keep only what they use.
cxxflags="-ffunction-sections -fdata-sections"
stamp="$work/prefix/.stamp-$version-$(echo "${modules[*]} $cxxflags${target_args[*]:+ ${target_args[*]}}" | sha256sum | cut -c1-16)"
[[ -f "$stamp" ]] && exit 0

mkdir -p "$work"
"$here/fetch-deb-source.sh" "$pool" "$sha256" "$work/botan3_${version}.orig.tar.xz"
rm -rf "$work/src" "$work/prefix" && mkdir -p "$work/src"
tar -C "$work/src" --strip-components=1 -xf "$work/botan3_${version}.orig.tar.xz"
cd "$work/src"
echo "configuring Botan $version (minimized: ${#modules[@]} modules)"
python3 configure.py --minimized-build --enable-modules="$(IFS=,; echo "${modules[*]}")" \
    --disable-shared-library --amalgamation --without-documentation --build-targets=static \
    --prefix="$work/prefix" --cc=gcc --extra-cxxflags="$cxxflags" "${target_args[@]}" >configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }
echo "building Botan $version (about a minute)"
make -j"${AUDIT_JOBS:-$(nproc)}" libs >build.log 2>&1 || { tail -20 build.log >&2; exit 1; }
make install >install.log 2>&1 || { tail -20 install.log >&2; exit 1; }
touch "$stamp"
