
_clap_complete_tokenctl() {
    local IFS=$'\013'
    local _CLAP_COMPLETE_INDEX=0 _CLAP_PREFIX="" _clap_i _clap_words=()
    for ((_clap_i = 0; _clap_i < ${#COMP_WORDS[@]}; _clap_i++)); do
        local _clap_last=$((${#_clap_words[@]} - 1))
        if [[ ${COMP_WORDS[_clap_i]} == "=" ]] && ((_clap_last >= 0)) && [[ ${_clap_words[_clap_last]} == --* ]]; then
            _clap_words[_clap_last]+="="
            if ((_clap_i == COMP_CWORD)); then
                _CLAP_COMPLETE_INDEX=$_clap_last
                _CLAP_PREFIX="${_clap_words[_clap_last]}"
            elif ((_clap_i + 1 <= COMP_CWORD)); then
                ((_clap_i++))
                _clap_words[_clap_last]+="${COMP_WORDS[_clap_i]}"
                if ((_clap_i == COMP_CWORD)); then
                    _CLAP_COMPLETE_INDEX=$_clap_last
                    _CLAP_PREFIX="${_clap_words[_clap_last]%%=*}="
                fi
            fi
        else
            _clap_words+=("${COMP_WORDS[_clap_i]}")
            ((_clap_i == COMP_CWORD)) && _CLAP_COMPLETE_INDEX=$((${#_clap_words[@]} - 1))
        fi
    done
    local _CLAP_COMPLETE_COMP_TYPE=${COMP_TYPE}
    if compopt +o nospace 2> /dev/null; then
        local _CLAP_COMPLETE_SPACE=false
    else
        local _CLAP_COMPLETE_SPACE=true
    fi
    local words=("${_clap_words[@]}")
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        words[_CLAP_COMPLETE_INDEX]="${_CLAP_PREFIX}$2"
    fi
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$_CLAP_COMPLETE_INDEX" \
        _CLAP_COMPLETE_COMP_TYPE="$_CLAP_COMPLETE_COMP_TYPE" \
        _CLAP_COMPLETE_SPACE="$_CLAP_COMPLETE_SPACE" \
        COMPLETE="bash" \
        "tokenctl" -- "${words[@]}" \
    ) )
    if [[ $? != 0 ]]; then
        unset COMPREPLY
    elif [[ $_CLAP_COMPLETE_SPACE == false ]] && [[ "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
    if [[ -n $_CLAP_PREFIX && -n ${COMPREPLY+x} ]]; then
        COMPREPLY=("${COMPREPLY[@]#"$_CLAP_PREFIX"}")
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _clap_complete_tokenctl tokenctl
else
    complete -o nospace -o bashdefault -F _clap_complete_tokenctl tokenctl
fi

