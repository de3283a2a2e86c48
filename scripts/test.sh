#!/usr/bin/env bash
# keyceremony's whole test suite, the one command CI runs (.ci/run).
#
# 1. Installs the Debian packages the tests need (python3-fido2, swtpm,
#    openssh-client, openssl, tmux, fido2-tools, libfido2-dev, gcc, poppler-utils, lintian, man-db) when they are missing and this user may install them
#    (root, or passwordless sudo). Otherwise it says so loudly; those tests
#    then skip with a loud reason, except under CI=true, where they fail.
# 2. gofmt, go vet, then every Go test with the race detector, fuzz seed corpora
#    included; then the libfido2 backend's tests (-tags libfido2).
# 3. scripts/reproducible.sh: two builds of this commit (other path, fresh
#    caches) must be byte-identical, and version --json must name them.
#    scripts/deb-check.sh: the Debian package (nfpm), built twice, identical,
#    unpacked and run, its man page, completion, SBOM and postinst checked,
#    lintian-clean.
# 4. With FUZZTIME=30s (say), also runs each fuzz target for that long.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
/usr/bin/python3 -c 'import fido2, cryptography' 2>/dev/null || packages+=(python3-fido2)
command -v swtpm >/dev/null || packages+=(swtpm)
command -v ssh-keygen >/dev/null || packages+=(openssh-client)
command -v openssl >/dev/null || packages+=(openssl)
command -v tmux >/dev/null || packages+=(tmux)
command -v fido2-token >/dev/null || packages+=(fido2-tools)
[ -e /usr/include/fido.h ] || packages+=(libfido2-dev)
command -v gcc >/dev/null || packages+=(gcc libc6-dev)
command -v pdftotext >/dev/null || packages+=(poppler-utils)
command -v lintian >/dev/null || packages+=(lintian)
command -v man >/dev/null || packages+=(man-db)

if ((${#packages[@]})); then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    sudo=(unavailable)
  fi
  if [ "${sudo[*]-}" = unavailable ]; then
    echo "WARNING: cannot install ${packages[*]} (not root, no passwordless sudo)." >&2
    echo "WARNING: the tests that need them (python-fido2 interop, swtpm signing, ssh-keygen and openssl verification, the TUI under tmux, libfido2 and its tools against simkey, the printed PDF page, the Debian package lint and man page) will be SKIPPED. Run: sudo apt-get install ${packages[*]}" >&2
  else
    echo "Installing test dependencies: ${packages[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$unformatted" ]; then
  echo "FAIL: not gofmt-formatted (run gofmt -w):" $unformatted >&2
  exit 1
fi
go vet ./...
go test -race -count=1 ./...

# The libfido2 backend (cgo, -tags libfido2): its conformance suite, the
# ceremony through it, and one pass of the benchmark harness.
if [ -e /usr/include/fido.h ] && command -v gcc >/dev/null; then
  go vet -tags libfido2 ./...
  go test -race -count=1 -tags libfido2 ./ctap/libfido2/
  go test -count=1 -tags libfido2 -run 'TestBackendChoice' ./fidokey/
  go test -count=1 -tags libfido2 -run '^$' -bench '^BenchmarkBackends$' -benchtime 1x ./ctap/libfido2/ >/dev/null
elif [ "${CI:-}" = true ]; then
  echo "FAIL: libfido2-dev or gcc missing under CI: the libfido2 backend is untested" >&2
  exit 1
else
  echo "WARNING: libfido2-dev or gcc missing: the libfido2 backend tests are SKIPPED. Run: sudo apt-get install libfido2-dev gcc" >&2
fi

scripts/reproducible.sh
scripts/deb-check.sh

if [ -n "${FUZZTIME:-}" ]; then
  for pkg in $(go list ./...); do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
      echo "fuzz $pkg $target for $FUZZTIME"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 1x "$pkg"
    done
  done
fi
