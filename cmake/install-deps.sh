#!/usr/bin/env bash
# Install the build and test dependencies from Debian's archive (bookworm), via the machine's
# configured apt sources. Idempotent; needs root (uses sudo when available otherwise).
set -euo pipefail
pkgs=(
    build-essential cmake python3 xz-utils file ca-certificates curl
    libarchive-dev libzstd-dev libsqlite3-dev libtomlplusplus-dev nlohmann-json3-dev
    zlib1g-dev libbz2-dev liblzma-dev liblz4-dev libacl1-dev
    dpkg-dev fakeroot openssl python3-securesystemslib python3-jsonschema zstd tar strace hashdeep time
    rpm db5.3-util
    # Fixtures of the Linux sources, made with each ecosystem's own tools: pacman -U (+ bsdtar to
    # pack), modinfo (kmod) and gcc/objcopy for modules, systemctl --root, Debian's pip.
    pacman-package-manager libarchive-tools kmod binutils gzip systemd python3-pip
    libhivex-bin libwin-hivex-perl
    gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 osslsigncode
    # Fuzzing (tests/fuzz/run.sh): clang's libFuzzer, sqlite3 to cut rpm header seeds; the
    # hostile-filesystem and fault tests: setpriv (util-linux), strace (above).
    clang sqlite3 util-linux
    # Kit images (audit-kit build --image) and their extraction in the tests.
    xorriso dosfstools mtools
)
# npm: Debian's package unless a node installation already provides one (NodeSource's nodejs
# bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
# Headless Chromium renders the fleet report in tests/e2e/report_html.sh. It is about 120 MB to
# download (400 MB installed), so it is opt-in; without it that test reports itself skipped.
[[ ${AUDIT_WITH_CHROMIUM:-0} == 1 ]] && pkgs+=(chromium poppler-utils)  # pdftotext reads its PDF
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
