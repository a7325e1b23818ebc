#!/usr/bin/env bash
# check_imports.sh EXE...: each static .exe imports only Windows system DLLs (no libstdc++,
# libgcc, winpthread or dependency DLL beside it), and is at most 8 MiB (issue 19: the Windows
# limit beside the Linux tools' 6 MiB of e2e.tool_sizes). Prints each tool's size and DLLs.
set -euo pipefail
# KERNEL32/ADVAPI32/BCRYPT/msvcrt and the api-ms-win-crt forwarders ship with every Windows.
allowed='^(kernel32|advapi32|bcrypt|msvcrt|user32|shell32|ole32|ws2_32|crypt32|ntdll|api-ms-win-[a-z0-9-]+)\.dll$'
rc=0
for exe in "$@"; do
    dlls=$(x86_64-w64-mingw32-objdump -p "$exe" | awk '/DLL Name:/ {print $3}' | sort -u)
    printf '%-14s %9d bytes  imports: %s\n' "$(basename "$exe")" "$(stat -c %s "$exe")" "$(echo $dlls)"
    if (($(stat -c %s "$exe") > 8 * 1024 * 1024)); then
        echo "FAIL: $exe is $(stat -c %s "$exe") bytes, over the limit of 8 MiB" >&2
        rc=1
    fi
    while read -r d; do
        [[ -z "$d" ]] && continue
        if ! [[ "${d,,}" =~ $allowed ]]; then
            echo "FAIL: $exe imports $d, not a Windows system DLL" >&2
            rc=1
        fi
    done <<<"$dlls"
done
exit $rc
