#!/usr/bin/env bash
# Paired hot-path runs of two release builds of tokenctl: in each pair, `auth token` of the
# old and of the new binary beside `cat` of its own login file (a direct-token login, no
# network), back to back in alternating order, each ratio from hyperfine's medians.
#   crates/xtask/scripts/paired-hot-path.sh OLD_BINARY NEW_BINARY [PAIRS]
# Prints one line per pair (old ratio, cat ms, token ms, new ratio, cat ms, token ms), then
# the summary docs/benchmarks-paired.md quotes.
set -euo pipefail
old_bin=$1 new_bin=$2 pairs=${3:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
payload=$(printf '{"sub":"alice","exp":%d,"iss":"https://idp.example/realms/r"}' $(( $(date +%s) + 30 * 86400 )) \
  | base64 -w0 | tr '+/' '-_' | tr -d '=')
for which in old new; do
  home=$work/$which bin_var=${which}_bin
  mkdir -p "$home"
  printf '%s\n' 'providers:' \
    "  - {name: sso, kind: keycloak, server: 'https://idp.example', realm: r, client-id: cli}" \
    'contexts:' '  - {name: dev, provider: sso, flow: token}' \
    'current-context: dev' 'credential-store: file' > "$home/config.yaml"
  echo "eyJhbGciOiJub25lIn0.$payload.sig" | env HOME="$home" XDG_DATA_HOME="$home/data" \
    XDG_CACHE_HOME="$home/cache" TOKENCTL_CONFIG="$home/config.yaml" "${!bin_var}" auth login --token-stdin 2>/dev/null
done
measure() {
  local which=$1 home=$work/$1 bin_var=${1}_bin
  local login
  login=$(ls "$home"/data/tokenctl/logins/*.json)
  env HOME="$home" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" TOKENCTL_CONFIG="$home/config.yaml" \
    hyperfine -N --warmup 20 --runs 200 --export-json "$work/$which.json" "cat $login" "${!bin_var} auth token" >/dev/null 2>&1
  python3 -c "import json,sys;r=json.load(open(sys.argv[1]))['results'];print(r[1]['median']/r[0]['median'],r[0]['median']*1e3,r[1]['median']*1e3)" "$work/$which.json"
}
for pair in $(seq 1 "$pairs"); do
  if (( pair % 2 )); then o=$(measure old); n=$(measure new); else n=$(measure new); o=$(measure old); fi
  echo "$pair $o $n"
done | tee "$work/pairs.txt"
python3 - "$work/pairs.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
old = [float(r[1]) for r in rows]; new = [float(r[4]) for r in rows]
rel = [n / o for o, n in zip(old, new)]
print(f"{len(rows)} pairs: auth token/cat median {statistics.median(old):.3f} (old), {statistics.median(new):.3f} (new); "
      f"new/old per pair median {statistics.median(rel):.3f}, mean {statistics.mean(rel):.3f}, range {min(rel):.3f}-{max(rel):.3f}")
PY
