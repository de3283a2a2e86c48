#!/usr/bin/env bash
# Proves scripts/build.sh is reproducible: builds this commit twice, the
# second time from a copy of the checkout at another path with an empty
# build cache and a separate module cache (filled offline from the first
# one's downloads, so go.sum is checked again), and compares the bytes.
# Then checks the binary's own `version --json` names this revision and
# its own SHA-256. Part of scripts/test.sh; about three minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

scripts/build.sh "$work/first"

git ls-files -z | tar --null -T - -cf - | (mkdir -p "$work/elsewhere/src" && cd "$work/elsewhere/src" && tar -xf -)
cp -r .git "$work/elsewhere/src/.git"
modcache=$(go env GOMODCACHE)
(cd "$work/elsewhere/src" &&
  GOCACHE="$work/elsewhere/gocache" GOMODCACHE="$work/elsewhere/modcache" \
  GOPROXY="file://$modcache/cache/download" GOSUMDB=off GOFLAGS=-buildvcs=false \
  scripts/build.sh "$work/second" >"$work/second.log" 2>&1) || {
  tail -20 "$work/second.log" >&2
  echo "FAIL: the second build (fresh caches, other path) did not build" >&2; exit 1; }

a=$(sha256sum <"$work/first" | cut -d' ' -f1)
b=$(sha256sum <"$work/second" | cut -d' ' -f1)
if [ "$a" != "$b" ]; then
  echo "FAIL: two builds of the same commit differ: $a vs $b" >&2
  exit 1
fi
echo "reproducible: two builds (other path, fresh caches) are both sha256 $a"

"$work/first" version --json >"$work/version.json"
python3 - "$work/version.json" "$a" "$(git rev-parse HEAD)" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
want_sum, head = sys.argv[2], sys.argv[3]
assert v["binary_sha256"] == want_sum, ("binary_sha256", v["binary_sha256"], want_sum)
assert v["revision"].split("-dirty")[0] == head, ("revision", v["revision"], head)
assert any(m["path"] == "github.com/microsoftgraph/msgraph-sdk-go" and m["sum"].startswith("h1:") for m in v["modules"]), "module hashes"
PY
echo "version --json: revision $(git rev-parse --short HEAD), sha256 matches"
