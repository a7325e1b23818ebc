#!/usr/bin/env bash
# Fetch one file of a Debian source package from the machine's own configured apt mirror,
# pinned by SHA-256. Usage: fetch-deb-source.sh POOL_PATH SHA256 DEST
# The archive host is never written into the repository: the URI comes from apt's sources.
set -euo pipefail
pool_path=$1 want=$2 dest=$3

if [[ -f "$dest" ]] && echo "$want  $dest" | sha256sum -c --status; then exit 0; fi

# Candidate base URIs: every "deb" source of the machine (deb822 .sources and one-line .list),
# security and third-party suites last. Deduplicated, in order.
mirrors() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) print $i }' "$f"
    done
}
mapfile -t uris < <(mirrors | awk '!seen[$0]++' | awk '/security/ {late[++n]=$0; next} {print} END {for (i=1;i<=n;i++) print late[i]}')
[[ ${#uris[@]} -gt 0 ]] || { echo "fetch-deb-source: no apt sources configured" >&2; exit 4; }

mkdir -p "$(dirname "$dest")"
tmp="$dest.part"
for base in "${uris[@]}"; do
    url="${base%/}/$pool_path"
    rm -f "$tmp"
    # apt-helper honours apt's own proxy and transport configuration.
    if [[ -x /usr/lib/apt/apt-helper ]] && /usr/lib/apt/apt-helper download-file "$url" "$tmp" "SHA256:$want" >/dev/null 2>&1; then
        :
    elif command -v curl >/dev/null && curl -fsSL -o "$tmp" "$url" 2>/dev/null; then
        :
    else
        continue
    fi
    if echo "$want  $tmp" | sha256sum -c --status; then
        mv -f "$tmp" "$dest"
        echo "fetched $(basename "$dest") (sha256 ok)"
        exit 0
    fi
    echo "fetch-deb-source: $url: SHA-256 mismatch, refusing it" >&2
done
rm -f "$tmp"
echo "fetch-deb-source: could not fetch $pool_path with SHA-256 $want from the configured apt sources" >&2
exit 4
