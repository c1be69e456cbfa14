#!/usr/bin/env bash
# The bash completion that `cotenant completion bash` generated, loaded in bash and asked
# what it offers at a few positions (as bash would ask after TAB).
#
#   tools/cotenant/completion_test.sh SCRIPT
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 SCRIPT" >&2; exit 2; }
# shellcheck source=/dev/null
source "$1"
complete -p cotenant >/dev/null || { echo "FAIL: the script does not register cotenant" >&2; exit 1; }

failures=0
# offers WORDS... :: EXPECTED...: completing the last word of WORDS offers every EXPECTED.
# COMP_WORDS is split as bash splits it ("--kind=m" is "--kind" "=" "m").
offers() {
  local words=() want=() got w
  while [[ $1 != "::" ]]; do words+=("$1"); shift; done
  shift
  want=("$@")
  COMP_WORDS=("${words[@]}")
  COMP_CWORD=$((${#words[@]} - 1))
  COMPREPLY=()
  _cotenant || true  # compgen fails when nothing matches
  got=" ${COMPREPLY[*]} "
  for w in "${want[@]}"; do
    if [[ $got != *" $w "* ]]; then
      echo "FAIL: '${words[*]}' offers [${COMPREPLY[*]}], not $w" >&2
      failures=$((failures + 1))
    fi
  done
}
# offers_nothing WORDS...: completing the last word offers nothing (bash then falls back
# to file names).
offers_nothing() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _cotenant || true  # compgen fails when nothing matches
  if [[ ${#COMPREPLY[@]} -ne 0 ]]; then
    echo "FAIL: '$*' offers [${COMPREPLY[*]}], want nothing" >&2
    failures=$((failures + 1))
  fi
}

offers cotenant "" :: whoami tenant user key object role policy record export-records fsck backup
offers cotenant ten :: tenant
offers cotenant tenant "" :: create list delete quota dump restore
offers cotenant tenant create --k :: --kind
offers cotenant tenant create -- :: --kind --provider --addr --json --help
offers cotenant tenant create --kind "" :: tenant msp isv
offers cotenant tenant create --kind = m :: msp
offers cotenant --addr 127.0.0.1 : 7770 --tenant 1 tenant c :: create
offers cotenant --json user create bob --level "" :: user tenant-admin system-admin
offers cotenant record "" :: add get update delete search
offers_nothing cotenant --key-file ""
offers_nothing cotenant tenant create --provider ""
# The hidden command stays out of what is offered.
COMP_WORDS=(cotenant "")
COMP_CWORD=1
_cotenant || true
if [[ " ${COMPREPLY[*]} " == *" completion "* ]]; then
  echo "FAIL: the hidden completion command is offered" >&2
  failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures completion checks failed" >&2
  exit 1
fi
echo "bash completion: all checks passed"
