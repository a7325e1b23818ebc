#!/usr/bin/env bash
# Install dependencies from Debian's archive (bookworm), via the machine's configured apt sources.
# Idempotent; needs root (uses sudo when available otherwise).
#   bash cmake/install-deps.sh           what the main job needs: build the static tools and run
#                                        them (cmake/demo.sh)
#   bash cmake/install-deps.sh --tests   that, plus the fixture tools and checkers of the test
#                                        suite (tests/run.sh)
#   bash cmake/install-deps.sh --windows that, plus the mingw-w64 cross-compiler, Wine 8 and wixl
#                                        (tests/windows/run.sh)
set -euo pipefail
tests=0 windows=0
case "${1:-}" in
--tests) tests=1 ;;
--windows) windows=1 ;;
"") ;;
*) echo "usage: install-deps.sh [--tests|--windows]" >&2; exit 2 ;;
esac
# The tools: compiler, CMake, the static -dev libraries, python3 + xz for Botan's source build,
# tcl + patch for SQLite's (Debian's patches, the amalgamation: cmake/build-sqlite.sh), curl as
# the fallback fetcher of Debian source files, file (demo.sh shows the link type).
pkgs=(
    build-essential cmake python3 xz-utils file ca-certificates curl tcl patch
    libarchive-dev libzstd-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
    zlib1g-dev libbz2-dev liblzma-dev liblz4-dev libacl1-dev liburing-dev
)
if [[ $tests -eq 1 ]]; then
    pkgs+=(
        dpkg-dev fakeroot openssl python3-securesystemslib python3-jsonschema zstd tar strace hashdeep time
        rpm db5.3-util
        # Fixtures of the Linux sources, made with each ecosystem's own tools: pacman -U (+ bsdtar
        # to pack), modinfo (kmod) and gcc/objcopy for modules, systemctl --root, Debian's pip.
        pacman-package-manager libarchive-tools kmod binutils gzip systemd python3-pip
        libhivex-bin libwin-hivex-perl
        # Mach-O fixtures are read back with macholib (tests/e2e/macos_team_id.sh).
        python3-macholib
        gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 osslsigncode
        # Fuzzing (tests/fuzz/run.sh): clang's libFuzzer, sqlite3 to cut rpm header seeds; the
        # hostile-filesystem and fault tests: setpriv (util-linux), strace (above).
        clang sqlite3 util-linux
        # Kit images (audit-kit build --image) and their extraction in the tests; fusefat mounts
        # a FAT image noexec where the kernel has no vfat (tests/e2e/kit_noexec.sh).
        xorriso dosfstools mtools fusefat
        # The Debian package of the tools (CPack) installed with dpkg --root (install_deb.sh).
        dpkg
    )
    # npm: Debian's package unless a node installation already provides one (NodeSource's nodejs
    # bundles npm and conflicts with Debian's npm package).
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
    # Headless Chromium renders the fleet report in tests/e2e/report_html.sh. It is about 120 MB
    # to download (400 MB installed), so it is opt-in; without it that test reports itself skipped.
    [[ ${AUDIT_WITH_CHROMIUM:-0} == 1 ]] && pkgs+=(chromium poppler-utils)  # pdftotext reads its PDF
fi
[[ $windows -eq 1 ]] && pkgs+=(g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 wine wine64 wixl)
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
