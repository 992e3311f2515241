#!/usr/bin/env bash
# Times the team store: the built nextcore binary on N records (default
# 1,000,000) in PostgreSQL, against psql running the naive GROUP BY over
# the same records in one plain table, in one run, and prints a table.
# Run by hand (not in CI):
#
#   eval "$(scripts/pg-test-server.sh)"      # or any server and writer role
#   NEXTCORE_BENCH_PG="$NEXTCORE_TEST_PG" scripts/bench-pg.sh [N]
#
# LEDGER=1 and WIDE=1 shape the records as scripts/bench.sh does (records
# v2; thousands of users, hundreds of keys, 2 % late). The imported file has
# random ids, as providers issue them. BENCH_DIR keeps the data between
# runs. Each run uses a new schema, dropped at the end (KEEP=1 keeps it).
# Needs: go, psql (Debian package postgresql-client), /usr/bin/time. The
# figures in the README come from scripts/pg-test-server.sh's server with
# HUGE_PAGES=1 (shared_buffers 4GB in huge pages).
set -euo pipefail
N=${1:-1000000}
cd "$(dirname "$0")/.."
url=${NEXTCORE_BENCH_PG:?set NEXTCORE_BENCH_PG to a writer URL (scripts/pg-test-server.sh prints one)}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
go build -o "$work/nextcore" ./cmd/nextcore
go build -o "$work/nextcore-gen" ./cmd/nextcore-gen
end=2026-11-26
asof=2026-11-25
gen=()
[ "${LEDGER:-}" = 1 ] && { gen=(-ledger); N="$N-v2"; }
[ "${WIDE:-}" = 1 ] && { gen+=(-wide); N="$N-wide"; }
n=${N%%-*}
data="$work/usage-$N-random2.jsonl"
[ -s "$data" ] || "$work/nextcore-gen" -records "$n" -days 365 -end $end -seed 2 "${gen[@]}" -random-ids -o "$data"
late="$work/usage-$N-late.jsonl" # a sync's worth of new records while reports run
[ -s "$late" ] || "$work/nextcore-gen" -records 200000 -days 2 -end $end -seed 9 "${gen[@]}" -random-ids -o "$late"
schema="bench_$$"
sep='?'; [[ "$url" == *\?* ]] && sep='&'
store="$url${sep}search_path=$schema"
psqlq() { psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }
cleanup() { [ "${KEEP:-}" = 1 ] || psqlq -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; }
trap cleanup EXIT
records=$(wc -l < "$data")
echo "bench-pg: $records records (${gen[*]:-plain}) into schema $schema" >&2

nc() { NEXTCORE_CACHE="$store" "$work/nextcore" --tenant bench --tz UTC --as-of $asof "$@"; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
best() { local b=999999999 t; for _ in 1 2 3 4 5; do t=$(ms "$@"); [ "$t" -lt "$b" ] && b=$t; done; echo "$b"; }

# nextcore's import: COPY, rollups in the same transaction.
s=$(date +%s%N)
NEXTCORE_CACHE="$store" /usr/bin/time -f "%M" -o "$work/import.mem" "$work/nextcore" usage import --tenant bench "$data" 2>"$work/import.log" >/dev/null ||
  { cat "$work/import.log"; exit 1; }
e=$(date +%s%N)
import_ms=$(( (e - s) / 1000000 ))

# The raw engine: psql loads the same records into one plain table with
# the same keys (a unique id, an index on the time), by \copy of their CSV.
csv="$work/usage-$N-random2.csv"
[ -s "$csv" ] || "$work/nextcore-gen" -records "$n" -days 365 -end $end -seed 2 "${gen[@]}" -random-ids -format csv -o "$csv"
psqlq -c "CREATE TABLE $schema.raw (id text COLLATE \"C\" PRIMARY KEY, timestamp timestamptz, model text, apiKey text,
  \"user\" text, region text, status text, statusCode int, promptTokens bigint, completionTokens bigint, cost numeric,
  latencyMs bigint, requests bigint, inputTokens bigint, cacheReadTokens bigint, cacheWriteTokens bigint,
  cacheWrite1hTokens bigint, outputTokens bigint, reasoningTokens bigint, project text, tags text, provider text,
  batch bool, serviceTier text, longContext text); CREATE INDEX ON $schema.raw (timestamp)" >/dev/null
s=$(date +%s%N)
psqlq -c "\\copy $schema.raw FROM '$csv' WITH (FORMAT csv, HEADER true)" >/dev/null
e=$(date +%s%N)
raw_ms=$(( (e - s) / 1000000 ))
psqlq -c "VACUUM ANALYZE $schema.raw" >/dev/null

y0=$(date -u -d "$asof -364 days" +%Y-%m-%d)T00:00:00Z
y1=$(date -u -d "$asof +1 day" +%Y-%m-%d)T00:00:00Z
pq() { psqlq -At -c "$1"; }
where="FROM $schema.raw WHERE timestamp >= '$y0' AND timestamp < '$y1'"
row() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "| %s | %d ms | %d ms | %.1f× |\n", n, a, b, b / a }'; }

printf '\n| %s records in PostgreSQL | nextcore | psql, naive GROUP BY | ratio |\n|---|---:|---:|---:|\n' "$records"
row "usage stats --period year" "$(best nc usage stats --period year)" \
  "$(best pq "SELECT date_trunc('day', timestamp), model, count(*), sum((status = 'success')::int), sum(promptTokens + completionTokens), sum(cost) $where GROUP BY 1, 2")"
row "usage breakdown --by region --period year" "$(best nc usage breakdown --by region --period year)" \
  "$(best pq "SELECT region, count(*), sum((status = 'success')::int), sum(promptTokens + completionTokens), sum(cost), avg(latencyMs) $where GROUP BY region")"
row "usage breakdown --by model --period month" "$(best nc usage breakdown --by model)" \
  "$(best pq "SELECT model, count(*), sum(cost) FROM $schema.raw WHERE timestamp >= '$(date -u -d "$asof -29 days" +%Y-%m-%d)' AND timestamp < '$y1' GROUP BY model")"
row "usage breakdown --by user --filter region=us-east --period year" "$(best nc usage breakdown --by user --filter region=us-east --period year)" \
  "$(best pq "SELECT \"user\", count(*), sum(cost) $where AND region = 'us-east' GROUP BY 1")"

echo
echo "import: $records records in $import_ms ms ($(( records * 1000 / import_ms )) records/s), peak memory $(( $(cat "$work/import.mem") / 1024 )) MiB; psql \\copy of the same records into one table: $raw_ms ms ($(( records * 1000 / raw_ms )) records/s)"

# 50 reports at once while an import (as a sync) writes 200,000 new records.
NEXTCORE_CACHE="$store" "$work/nextcore" usage import --tenant bench "$late" >"$work/late.log" 2>&1 &
writer=$!
sleep 1
mkdir -p "$work/par"
rm -f "$work/par/"*
kinds=("usage stats --period month" "usage breakdown --by region --period year" "usage stats --period year" "usage top-models" "usage breakdown --by model --period week")
for i in $(seq 1 50); do
  k=${kinds[$((i % ${#kinds[@]}))]}
  (
    s=$(date +%s%N)
    # shellcheck disable=SC2086
    if nc $k >/dev/null 2>"$work/par/$i.err"; then r=ok; else r=fail; fi
    e=$(date +%s%N)
    echo "$(( (e - s) / 1000000 )) $r" > "$work/par/$i.t"
  ) &
done
wait $(jobs -p | grep -v "^$writer$") 2>/dev/null || true
writer_ok=ok
wait "$writer" || writer_ok=fail
slowest=$(cat "$work/par/"*.t | sort -n | tail -1 | cut -d' ' -f1)
median=$(cat "$work/par/"*.t | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
fails=$(cat "$work/par/"*.t | grep -c fail || true)
echo "50 reports at once during an import of 200,000 records ($writer_ok: $(tail -1 "$work/late.log")): median $median ms, slowest $slowest ms, $fails failed"

# The floors of this machine, in the same run: 50 processes that do
# nothing but start (nextcore --help), and 50 psql that connect and
# SELECT 1, all at once; and one psql SELECT 1 alone.
par50() {
  local d i s e
  d=$(mktemp -d)
  for i in $(seq 1 50); do
    ( s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )) > "$d/$i" ) &
  done
  wait
  sort -n "$d"/* | awk '{a[NR] = $1} END {printf "median %d ms, slowest %d ms", a[int((NR + 1) / 2)], a[NR]}'
  rm -rf "$d"
}
echo "floors: 50 × 'nextcore --help' at once: $(par50 "$work/nextcore" --help); 50 × psql SELECT 1 at once: $(par50 psql -X "$url" -Atc "SELECT 1"); one psql SELECT 1: $(best psqlq -c "SELECT 1") ms"
echo "server: shared_buffers $(psqlq -Atc "SHOW shared_buffers"), huge_pages $(psqlq -Atc "SHOW huge_pages") ($(awk '/HugePages_Total/ {print $2}' /proc/meminfo) reserved), $(nproc) cores"
