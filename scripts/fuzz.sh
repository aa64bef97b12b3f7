#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one after the other, for FUZZTIME each
# (go test accepts a single -fuzz target per invocation).
#
#   scripts/fuzz.sh [FUZZTIME]        e.g. scripts/fuzz.sh 30s   (default 10s; make fuzz FUZZTIME=10s)
#
# Targets are discovered with `go test -list`, so new Fuzz* functions are picked up without
# editing this file. A failing target does not stop the others; the exit status is non-zero if
# any failed. The failing input is written by go test to <package>/testdata/fuzz/<Target>/.
set -euo pipefail

fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

# `go test -list` prints each package's matching names, then "ok  <pkg> <time>".
if ! list="$("$GO" test -list '^Fuzz.*' ./... 2>&1)"; then
	printf '%s\n' "$list" >&2
	echo "fuzz.sh: go test -list failed" >&2
	exit 1
fi
targets="$(awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok /  { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }
' <<<"$list")"

if [[ -z "$targets" ]]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

echo "fuzz.sh: $(wc -l <<<"$targets") targets, ${fuzztime} each"
failed=()
while read -r pkg name; do
	echo "=== ${pkg} ${name}"
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		failed+=("${pkg} ${name}")
	fi
done <<<"$targets"

if ((${#failed[@]})); then
	echo "fuzz.sh: FAILED:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz.sh: all targets passed"
