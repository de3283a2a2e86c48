#!/usr/bin/env bash
# Builds the Debian package and the SBOM from this checkout:
#
#   scripts/deb.sh [DIST]      (default ./dist)
#
# DIST gets keyceremony (scripts/build.sh, reproducible), keyceremony.1.gz
# (the man page: packaging/keyceremony.1.md with the CLI's own usage text,
# rendered by go-md2man), keyceremony.bash (`keyceremony completion bash`),
# sbom.cdx.json (CycloneDX, by cyclonedx-gomod, of the modules compiled into
# the binary), and keyceremony_VERSION_amd64.deb (nfpm, packaging/nfpm.yaml).
# The three generators are pinned in tools/go.mod and built from it;
# none of them is compiled into keyceremony.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd tools && go build -o "$bin/" github.com/goreleaser/nfpm/v2/cmd/nfpm \
  github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod github.com/cpuguy83/go-md2man/v2)

scripts/build.sh "$dist/keyceremony"
rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
# Debian versions must start with a digit; no release is tagged yet, so the
# version names the commit and its date (both fixed by the commit).
version=$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//') ||
  version=0.0~git$(date -u -d "@$epoch" +%Y%m%d).$rev

"$dist/keyceremony" completion bash >"$dist/keyceremony.bash"
{
  sed '/@USAGE@/,$d; s/@VERSION@/'"$version"'/' packaging/keyceremony.1.md
  "$dist/keyceremony" help | sed -n '/^Usage:/,$p' | sed '1d; s/^/    /'
  sed '1,/@USAGE@/d' packaging/keyceremony.1.md
} >"$dist/keyceremony.1.md"
"$bin/go-md2man" -in "$dist/keyceremony.1.md" -out "$dist/keyceremony.1"
gzip -9n -c "$dist/keyceremony.1" >"$dist/keyceremony.1.gz"

printf 'keyceremony (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- keyceremony maintainers <keyceremony@users.noreply.github.com>  %s\n' \
  "$version" "$rev" "$(date -u -R -d "@$epoch")" | gzip -9n >"$dist/changelog.gz"

# The SBOM describes the binary as built: the main module and the modules it
# links and the Go standard library, with their hashes; no serial number or
# timestamp, so the same commit gives the same SBOM (and the same .deb);
# -licenses=false: no network look-ups.
"$bin/cyclonedx-gomod" app -json -licenses=false -std -noserial -notimestamp -output "$dist/sbom.cdx.json" -main cmd/keyceremony "$PWD" 2>"$bin/sbom.log" ||
  { cat "$bin/sbom.log" >&2; exit 1; }

sed -e "s|\${VERSION}|$version|; s|\${DIST}|$dist|" packaging/nfpm.yaml >"$bin/nfpm.yaml"
SOURCE_DATE_EPOCH=$epoch "$bin/nfpm" package --config "$bin/nfpm.yaml" --packager deb --target "$dist/" \
  >"$bin/nfpm.log" || { cat "$bin/nfpm.log" >&2; exit 1; }
ls "$dist"/keyceremony_*.deb
