#!/usr/bin/env bash
# The backend benchmark: the same four CTAP operations against one simkey
# from the native Go client, go-libfido2 (through the hidraw shim) and
# python-fido2, in one `go test -bench` run, printed as a table with the
# ratios. The benchmark interleaves the clients (for each operation the
# three run back to back) and ROUNDS (default 3) repeats the whole set;
# each cell is the median of its rounds. Needs what scripts/test.sh
# installs (libfido2-dev, gcc, python3-fido2). BENCHTIME=500x (say) for
# steadier numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
raw=$(go test -tags libfido2 -run '^$' -bench '^BenchmarkBackends$' -benchtime "${BENCHTIME:-300x}" -count "${ROUNDS:-3}" ./ctap/libfido2)
echo "$raw" | grep -E '^(goos|goarch|cpu):' || true
echo "$raw" | awk '
/^BenchmarkBackends\// {
  split($1, p, "/"); client = p[2]; op = p[3]; sub(/-[0-9]+$/, "", op)
  k = client "," op; runs[k] = runs[k] " " $3
  if (!(op in seen)) { seen[op] = 1; order[++n] = op }
}
function median(list,   v, m, i, j, t) {
  m = split(list, v, " ")
  for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
  return m ? (m % 2 ? v[(m+1)/2] : (v[m/2] + v[m/2+1]) / 2) : 0
}
END {
  for (k in runs) ns[k] = median(runs[k])
  if (n == 0) { print "no benchmark results" > "/dev/stderr"; exit 1 }
  printf "| %-14s | %11s | %11s | %13s | %15s | %19s |\n", "operation", "native", "go-libfido2", "python-fido2", "native/libfido2", "native/python-fido2"
  printf "|%s|%s|%s|%s|%s|%s|\n", "----------------", "------------:", "------------:", "---------------:", "-----------------:", "---------------------:"
  for (i = 1; i <= n; i++) {
    op = order[i]; a = ns["native," op]; l = ns["libfido2," op]; y = ns["python-fido2," op]
    printf "| %-14s | %8.0f µs | %8.0f µs | %10.0f µs | %15.2f | %19.2f |\n", op, a/1000, l/1000, y/1000, (l ? a/l : 0), (y ? a/y : 0)
  }
}'
