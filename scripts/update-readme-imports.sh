#!/usr/bin/env bash
# Rewrites the README's import graph (between the imports markers) with
# what scripts/imports.sh prints now.
set -euo pipefail
cd "$(dirname "$0")/.."
listing=$(bash scripts/imports.sh)
awk -v listing="$listing" '
  /<!-- imports:begin -->/ { print; print "```"; print listing; print "```"; skip = 1; next }
  /<!-- imports:end -->/ { skip = 0 }
  !skip { print }
' README.md > README.md.new && mv README.md.new README.md
