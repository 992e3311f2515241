#!/usr/bin/env bash
# Times `nextcore usage sync` of N records (default 1,000,000) from a
# loopback server with 5000-record pages, then a resync with nothing new.
# Run by hand (not in CI):   scripts/bench-sync.sh [N]
set -euo pipefail
N=${1:-1000000}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/nextcore" ./cmd/nextcore
go build -o "$work/nextcore-apisim" ./cmd/nextcore-apisim
"$work/nextcore-apisim" -records "$N" -token secret -tenant acme -addr 127.0.0.1:0 > "$work/url" 2> "$work/sim.log" &
sim=$!
for _ in $(seq 1 600); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(cat "$work/url")
export NEXTCORE_TOKEN=secret NEXTCORE_API_URL=$url NEXTCORE_TENANT=acme
run() { /usr/bin/time -f "%e %M" "$work/nextcore" usage sync --cache "$work/usage.db" 2>&1 | tail -2; }
echo "first sync:"; run
echo "resync, nothing new:"; run
