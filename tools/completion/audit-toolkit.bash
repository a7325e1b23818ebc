# bash completion of the audit-toolkit tools (installed once per tool name). Subcommands and
# options are read from the tool's own --help, so they never drift from the binary.
_audit_toolkit() {
    local cur=${COMP_WORDS[COMP_CWORD]} tool=${COMP_WORDS[0]} sub="" help
    if [[ $COMP_CWORD -ge 2 && ${COMP_WORDS[1]} != -* ]]; then sub=${COMP_WORDS[1]}; fi
    if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
        # Subcommands: indented words at the start of help lines under a subcommand heading.
        local subs
        subs=$("$tool" --help 2>/dev/null | awk '
            /^[Ss]ubcommands|^subcommands/ { on = 1; next }
            /^options:/ { on = 0 }
            on && /^  [a-z][a-z-]+ / { print $1 }
            /^(build|check|lms-keygen) / { print $1 }')
        if [[ -n $subs ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
            return
        fi
    fi
    if [[ $cur == -* ]]; then
        help=$("$tool" ${sub:+"$sub"} --help 2>/dev/null | grep -oE '^  --[a-z0-9-]+' | tr -d ' ')
        mapfile -t COMPREPLY < <(compgen -W "$help" -- "$cur")
        return
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -F _audit_toolkit audit-scan audit-verify audit-attest audit-keys audit-kit
