#!/usr/bin/env bash
# Each layer includes only itself and the layers below it:
#   common < storage < sharing < rpc < tools, and sdk sees only common, schemas and sdk.
# A header of a higher layer included by a lower one fails here, naming the line.
# Tests (*_test.cc, testing.h) may reach the shared fixtures in tests/.
set -u
cd "$(dirname "$0")/.."
allowed() {
  case "$1" in
    common) echo "common" ;;
    storage) echo "common storage" ;;
    sharing) echo "common storage sharing" ;;
    rpc) echo "common storage sharing rpc schemas" ;;
    sdk) echo "common schemas sdk cotenant" ;;
  esac
}
bad=0
for layer in common storage sharing rpc sdk; do
  ok=" $(allowed "$layer") "
  while IFS= read -r hit; do
    inc=$(sed -E 's/.*#include "([^/"]+)\/.*/\1/' <<<"$hit")
    case "$ok" in
      *" $inc "*) ;;
      *) echo "layering: $hit (a $layer file may include only:$(allowed "$layer"))"; bad=1 ;;
    esac
  done < <(grep -rnE '^#include "[^"]+/' "$layer" --include=*.h --include=*.cc \
             | grep -vE '(_test\.cc|/testing\.h):' )
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "layering: every include stays within its layer or below"
