# bash completion for cbuild. Verbs and flags come from cbuild's own --help text (the one
# source the man pages are made from too); image names from `cbuild images`.

_cbuild_verbs() {
    "${1:-cbuild}" --help 2>/dev/null | awk '/^Commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 } c && !NF { exit }'
}

# flags of a verb (or of cbuild itself with no verb); those taking a value end in "="
_cbuild_flags() {
    local cb=$1; shift
    "$cb" "$@" --help 2>/dev/null | awk '
        /^Options:/ { o = 1; next }
        o && !NF { exit }
        o && $1 ~ /^-/ {
            i = 1
            if ($1 ~ /^-[A-Za-z0-9],$/) { short = substr($1, 1, 2); i = 2 } else short = ""
            long = $i
            # a value name follows the flag after one space; the description after two or more
            arg = substr($0, index($0, long) + length(long)) ~ /^ [^ ]/
            print long (arg ? "=" : "")
            if (short != "") print short (arg ? "=" : "")
        }'
}

_cbuild_images() {
    "${1:-cbuild}" images 2>/dev/null | awk 'NR > 1 && $1 != "<none>" { print ($2 == "<none>") ? $1 : $1 ":" $2 }'
}

_cbuild() {
    local cur prev cb=${COMP_WORDS[0]} verb="" i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local verbs
    verbs=$(_cbuild_verbs "$cb")
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --root) ((i++)) ;;
            -*) ;;
            *) verb=${COMP_WORDS[i]}; break ;;
        esac
    done
    local flags
    flags=$(_cbuild_flags "$cb" $verb)
    # the value of a flag that takes one
    if [[ $prev == -* ]] && grep -qxF -- "$prev=" <<<"$flags"; then
        case $prev in
            -f | --file | --iidfile | --metadata-file | --authfile | -o | --output | -i | --input | --secret | --ext4 | --upper)
                COMPREPLY=($(compgen -f -- "$cur")) ;;
            --root | --cert-dir | -w)
                COMPREPLY=($(compgen -d -- "$cur")) ;;
            -t | --tag | --cache-from)
                COMPREPLY=($(compgen -W "$(_cbuild_images "$cb")" -- "$cur")) ;;
            --progress)
                COMPREPLY=($(compgen -W "auto tty plain quiet rawjson" -- "$cur")) ;;
            --network)
                COMPREPLY=($(compgen -W "default none host" -- "$cur")) ;;
            *) COMPREPLY=() ;;
        esac
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(sed 's/=$//' <<<"$flags")" -- "$cur"))
        return
    fi
    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs" -- "$cur") $(compgen -d -- "$cur"))
        return
    fi
    # sub-commands (ext4 create, store check, debug plan...), then the verb's operands
    local subs
    subs=$("$cb" "$verb" --help 2>/dev/null | awk '/^Commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 } c && !NF { exit }')
    if [[ -n $subs && $COMP_CWORD -eq $((i + 1)) ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi
    case $verb in
        run | push | tag | inspect | rmi | save | export)
            COMPREPLY=($(compgen -W "$(_cbuild_images "$cb")" -- "$cur")) ;;
        build | load | ext4 | debug | kernel)
            COMPREPLY=($(compgen -f -- "$cur")) ;;
        *) COMPREPLY=() ;;
    esac
}
complete -F _cbuild cbuild
