#!/usr/bin/env bash
# Builds the keyceremony binary reproducibly: the same commit gives the same
# bytes on any machine with the go.mod toolchain (scripts/reproducible.sh
# proves it in the test command).
#
#   scripts/build.sh [OUT]      (default ./keyceremony)
#
# -trimpath drops the checkout and module-cache paths, CGO_ENABLED=0 keeps
# the C toolchain out (the native backend is pure Go), -buildvcs=false plus
# an explicit -X stamp gives the revision without Go's build-time VCS state,
# and -buildid= removes the one per-build identifier. No timestamp is stamped.
# -s -w leave out the symbol table and DWARF (Debian ships stripped binaries;
# Go's own tables still name functions in a stack trace).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-keyceremony}
revision=$(git rev-parse HEAD 2>/dev/null || true)
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
if [ -n "$revision" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -buildid= -X main.version=$version -X main.revision=$revision" \
  -o "$out" ./cmd/keyceremony
