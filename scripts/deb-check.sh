#!/usr/bin/env bash
# Builds the Debian package twice (scripts/deb.sh) and checks it as an
# installer and an auditor would meet it; run by scripts/test.sh.
#  - the two builds are byte-identical (the .deb and its SBOM);
#  - dpkg-deb -c lists the binary, the udev rule, the man page, the bash
#    completion, the SBOM, the copyright and changelog;
#  - unpacked into a throwaway root (dpkg -x), `keyceremony version --json`
#    runs, names this commit and hashes to the built binary;
#  - the man page renders without warnings (man -l), the completion loads in
#    bash and completes, the SBOM (CycloneDX) lists every module the binary
#    says it contains;
#  - the postinst creates the keyceremony group only when it is missing
#    (run against stand-ins for getent and addgroup: it never touches this
#    machine's groups);
#  - lintian reports no error or warning.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }

bash scripts/deb.sh "$work/a" >/dev/null
bash scripts/deb.sh "$work/b" >/dev/null
deb=$(ls "$work"/a/keyceremony_*.deb)
cmp -s "$deb" "$work/b/$(basename "$deb")" || fail "two builds of this commit gave different .deb files"

contents=$(dpkg-deb -c "$deb")
for f in usr/bin/keyceremony usr/lib/udev/rules.d/70-keyceremony.rules usr/share/man/man1/keyceremony.1.gz \
  usr/share/bash-completion/completions/keyceremony usr/share/doc/keyceremony/sbom.cdx.json \
  usr/share/doc/keyceremony/copyright usr/share/doc/keyceremony/changelog.gz; do
  grep -q " \./$f\$" <<<"$contents" || fail "dpkg-deb -c does not list $f"
done
[ "$(dpkg-deb -f "$deb" Package)" = keyceremony ] || fail "package name"
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx './postinst' || fail "no postinst"

root=$work/root
dpkg -x "$deb" "$root"
"$root/usr/bin/keyceremony" version --json >"$work/version.json" || fail "the installed binary does not run"
python3 - "$work/version.json" "$work/a/keyceremony" "$(git rev-parse HEAD)" "$work/a/sbom.cdx.json" <<'PY' || fail "version --json / SBOM"
import hashlib, json, sys
v = json.load(open(sys.argv[1]))
want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert v["binary_sha256"] == want, ("binary_sha256", v["binary_sha256"], want)
assert v["revision"].split("-")[0] == sys.argv[3], ("revision", v["revision"], sys.argv[3])
sbom = json.load(open(sys.argv[4]))
assert sbom["bomFormat"] == "CycloneDX", sbom["bomFormat"]
purls = {c.get("purl", "").split("?")[0] for c in sbom.get("components", [])}
missing = [m["path"] + "@" + m["version"] for m in v["modules"]
           if "pkg:golang/" + m["path"] + "@" + m["version"] not in purls]
assert not missing, ("modules in the binary but not in the SBOM", missing)
PY

MANWIDTH=80 man --warnings -l "$root/usr/share/man/man1/keyceremony.1.gz" >"$work/man.txt" 2>"$work/man.err" ||
  fail "man -l: $(cat "$work/man.err")"
[ ! -s "$work/man.err" ] || fail "man page warnings: $(cat "$work/man.err")"
grep -q 'EXIT STATUS' "$work/man.txt" && grep -q 'keyceremony report verify' "$work/man.txt" ||
  fail "the man page lacks its sections or the usage"

got=$(bash --norc -c 'source "$1"; COMP_WORDS=(keyceremony rep); COMP_CWORD=1; _keyceremony; echo "${COMPREPLY[*]}"' \
  _ "$root/usr/share/bash-completion/completions/keyceremony")
[ "$got" = report ] || fail "completion of 'keyceremony rep': '$got'"

# The postinst against stand-ins: getent says whether the group exists,
# addgroup records what it was asked.
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work" ./postinst
mkdir "$work/bin"
printf '#!/bin/sh\nexit %s\n' 2 >"$work/bin/getent"
printf '#!/bin/sh\necho "$@" >>%s\n' "$work/addgroup.log" >"$work/bin/addgroup"
chmod +x "$work/bin/getent" "$work/bin/addgroup"
PATH=$work/bin:/usr/bin:/bin sh "$work/postinst" configure
[ "$(cat "$work/addgroup.log")" = "--system keyceremony" ] || fail "postinst did not create the system group"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/getent"
PATH=$work/bin:/usr/bin:/bin sh "$work/postinst" configure
[ "$(wc -l <"$work/addgroup.log")" = 1 ] || fail "postinst created the group again"

if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb" >"$work/lintian.txt" 2>/dev/null || true
  if grep -E '^[EW]: ' "$work/lintian.txt"; then fail "lintian (above)"; fi
elif [ "${CI:-}" = true ]; then
  fail "lintian is not installed (the test command installs it)"
else
  echo "deb-check: WARNING: lintian is not installed; the package was not linted (sudo apt-get install lintian)" >&2
fi
echo "deb-check: ok: $(basename "$deb") ($(stat -c %s "$deb") bytes), reproducible, installs, runs, lintian-clean"
