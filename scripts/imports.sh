#!/usr/bin/env bash
# Prints the module's package import graph (imports inside the module only),
# one package a line: the listing the README's architecture section holds.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
go list -f '{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}' ./... |
  awk -v mod="$mod/" '{
    line = substr($1, length(mod) + 1)
    for (i = 2; i <= NF; i++) if (index($i, mod) == 1) line = line " " substr($i, length(mod) + 1)
    print line
  }'
