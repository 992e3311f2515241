#!/usr/bin/env bash
# Times the built nextcore binary on N synthetic records (default 1,000,000)
# against the C sqlite3 CLI on the same records, in one run, and prints a
# table. Run by hand (not in CI):   scripts/bench.sh [N]
# LEDGER=1 makes records v2 (cache and reasoning tokens, batch, buckets,
# projects, tags, a model without a price, records without a reported cost)
# and adds the rows of --cost priced. Set BENCH_DIR to keep the data between
# runs. Needs: go, sqlite3 (Debian package sqlite3), /usr/bin/time.
# WIDE=1 makes the tenant wide, as independent data is: thousands of users,
# hundreds of keys, 2 % of records late (out of time order); the pivots and
# filters are timed on it.
# FLOOR=1 adds the C sqlite3 CLI's own bulk load of the random-id records.
# CLAUDE=1 instead sets nextcore against ccusage (npm, installed here in
# the work directory) on N generated Claude Code messages: the same tokens
# and cost each day, and the time of a first import and report against one
# ccusage run, and of a second report against a second run.
set -euo pipefail
N=${1:-1000000}
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
echo "bench: $N records in $work" >&2
go build -o "$work/nextcore" ./cmd/nextcore
go build -o "$work/nextcore-gen" ./cmd/nextcore-gen

if [ "${CLAUDE:-}" = 1 ]; then
  ccusage_version=20.0.24
  cc="$work/claude-$N"
  if [ ! -d "$cc/projects" ]; then
    "$work/nextcore-gen" -claude-code "$cc" -records "$N" -days 90 -end 2026-11-26 -seed 1
  fi
  if [ ! -x "$work/ccusage/node_modules/.bin/ccusage" ]; then
    mkdir -p "$work/ccusage"
    (cd "$work/ccusage" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "ccusage@$ccusage_version" >/dev/null)
  fi
  ccu() { CLAUDE_CONFIG_DIR="$cc" TZ=UTC "$work/ccusage/node_modules/.bin/ccusage" daily --json --offline; }
  ncc="$work/claude-$N.db"
  day() { "$work/nextcore" --cache "$ncc" --tenant me --tz UTC usage breakdown --by day --from 2026-08-28 --to 2026-11-30 --format json; }
  ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
  rm -f "$ncc" "$ncc-wal" "$ncc-shm"
  first=$(ms sh -c "'$work/nextcore' --cache '$ncc' --tenant me usage import --from claude-code '$cc/projects' && $(declare -f day); day")
  ccu1=$(ms ccu)
  second=$(ms day)
  ccu2=$(ms ccu)
  day > "$work/nextcore-days.json"
  ccu > "$work/ccusage-days.json"
  go run ./scripts/ccusagecmp "$work/nextcore-days.json" "$work/ccusage-days.json"
  size=$(du -sm "$cc/projects" | cut -f1)
  printf '\n| %s Claude Code messages (%s MiB of transcripts) | nextcore | ccusage %s | ratio |\n|---|---:|---:|---:|\n' "$N" "$size" "$ccusage_version"
  awk -v a="$first" -v b="$ccu1" 'BEGIN { printf "| first: import, then the daily report | %d ms | %d ms | %.1f× |\n", a, b, b / a }'
  awk -v a="$second" -v b="$ccu2" 'BEGIN { printf "| again: the daily report | %d ms | %d ms | %.1f× |\n", a, b, b / a }'
  exit 0
fi
end=2026-11-26
asof=2026-11-25
gen=()
if [ "${LEDGER:-}" = 1 ]; then
  gen=(-ledger)
  N="$N-v2" # the data's name; -records reads the number before it
fi
if [ "${WIDE:-}" = 1 ]; then
  gen+=(-wide)
  N="$N-wide"
fi
n=${N%%-*}
if [ ! -s "$work/usage-$N.jsonl" ]; then
  "$work/nextcore-gen" -records "$n" -days 365 -end $end -seed 1 "${gen[@]}" -o "$work/usage-$N.jsonl"
fi
if [ ! -s "$work/usage-$N.csv" ]; then
  "$work/nextcore-gen" -records "$n" -days 365 -end $end -seed 1 "${gen[@]}" -format csv -o "$work/usage-$N.csv"
fi
records=$(wc -l < "$work/usage-$N.jsonl")
# The same traffic with ids as providers issue them (random), for the
# imports: an id index is cheap to grow in order, dear at random.
for seed in 2 3; do
  if [ ! -s "$work/usage-$N-random$seed.jsonl" ]; then
    "$work/nextcore-gen" -records "$n" -days 365 -end $end -seed $seed "${gen[@]}" -random-ids -o "$work/usage-$N-random$seed.jsonl"
  fi
done

# best of 5 wall-clock runs of a command, in milliseconds
best() {
  local b=999999999 s e t
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t=$(( (e - s) / 1000000 )); [ "$t" -lt "$b" ] && b=$t
  done
  echo "$b"
}

# import: seconds and peak memory of one run
cache="$work/usage-$N.db"
rm -f "$cache" "$cache-wal" "$cache-shm"
imp() {
  /usr/bin/time -f "%e %M" "$work/nextcore" usage import --tenant acme --cache "$cache" "$work/usage-$N.jsonl" 2>&1 >/dev/null | tail -1
}
read -r imp_s imp_kb < <(imp)
read -r dup_s dup_kb < <(imp)
rcache="$work/usage-$N-random.db"
rimp() { # into the random-id cache: the random file, or what is given
  /usr/bin/time -f "%e %M" "$work/nextcore" usage import --tenant acme --cache "$rcache" "${1:-$work/usage-$N-random2.jsonl}" 2>&1 >/dev/null | tail -1
}
rm -f "$rcache" "$rcache-wal" "$rcache-shm"
read -r rimp_s rimp_kb < <(rimp)
read -r rdup_s rdup_kb < <(rimp)
# Other records with random ids into the cache that holds those: their ids
# land on the random pages of a full index.
read -r rmore_s rmore_kb < <(rimp "$work/usage-$N-random3.jsonl")
rm -f "$rcache" "$rcache-wal" "$rcache-shm"

# the raw engine: the same records in one table with an index on the timestamp
raw="$work/raw-$N.db"
if [ ! -s "$raw" ]; then
  rm -f "$raw"
  sqlite3 "$raw" <<SQL
.mode csv
.import $work/usage-$N.csv raw
CREATE INDEX raw_ts ON raw(timestamp);
SQL
fi

nc() { "$work/nextcore" --cache "$cache" --tenant acme --tz UTC --as-of $asof "$@"; }
sq() { sqlite3 "$raw" "$1"; }
y0=2025-11-26T00:00:00Z; y1=2026-11-26T00:00:00Z
m0=2026-10-27T00:00:00Z; q0=2026-11-01T00:00:00Z; d0=2026-11-25T00:00:00Z

printf '\n| what (%s records) | nextcore | sqlite3 | ratio |\n|---|---:|---:|---:|\n' "$records"
row() { # label, nextcore ms, sqlite3 ms
  awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "| %s | %d ms | %d ms | %.1f× |\n", l, a, b, (a > 0 ? b / a : 0) }'
}
row "usage stats --period year" "$(best nc usage stats --period year)" \
  "$(best sq "SELECT date(timestamp), model, count(*), sum(status='success'), sum(promptTokens+completionTokens), sum(cost) FROM raw WHERE timestamp >= '$y0' AND timestamp < '$y1' GROUP BY 1, 2")"
row "usage quota" "$(best nc usage quota)" \
  "$(best sq "SELECT count(*), sum(promptTokens+completionTokens), sum(cost) FROM raw WHERE timestamp >= '$q0' AND timestamp < '$y1'")"
row "usage top-models --period month" "$(best nc usage top-models --period month)" \
  "$(best sq "SELECT model, count(*), sum(status='success'), sum(promptTokens), sum(completionTokens), sum(cost) FROM raw WHERE timestamp >= '$m0' AND timestamp < '$y1' GROUP BY model")"
row "usage breakdown --by region --period year" "$(best nc usage breakdown --by region --period year)" \
  "$(best sq "SELECT region, count(*), sum(status='success'), sum(promptTokens+completionTokens), sum(cost), avg(latencyMs) FROM raw WHERE timestamp >= '$y0' AND timestamp < '$y1' GROUP BY region")"
row "usage reconcile --period year (day × model, priced from the book)" "$(best nc usage reconcile --period year)" \
  "$(best sq "SELECT date(timestamp), model, count(*), sum(promptTokens), sum(completionTokens), sum(cost) FROM raw WHERE timestamp >= '$y0' AND timestamp < '$y1' GROUP BY 1, 2")"
row "usage stats --period today" "$(best nc usage stats --period today)" \
  "$(best sq "SELECT model, count(*), sum(cost) FROM raw WHERE timestamp >= '$d0' AND timestamp < '$y1' GROUP BY model")"
if [ "${LEDGER:-}" = 1 ]; then
  # What pricing reads: the token kinds by day, model and what prices them.
  priced="SELECT date(timestamp), model, batch, serviceTier, sum(requests), sum(inputTokens), sum(cacheReadTokens), sum(cacheWriteTokens), sum(cacheWrite1hTokens), sum(outputTokens), sum(cost) FROM raw WHERE timestamp >= '$y0' AND timestamp < '$y1'"
  row "usage stats --period year --cost priced" "$(best nc --cost priced usage stats --period year)" "$(best sq "$priced GROUP BY 1, 2, 3, 4")"
  row "usage top-models --period month --cost priced" "$(best nc --cost priced usage top-models --period month)" \
    "$(best sq "SELECT model, batch, serviceTier, sum(requests), sum(inputTokens), sum(cacheReadTokens), sum(cacheWriteTokens), sum(cacheWrite1hTokens), sum(outputTokens) FROM raw WHERE timestamp >= '$m0' AND timestamp < '$y1' GROUP BY 1, 2, 3")"
  row "usage quota --cost priced" "$(best nc --cost priced usage quota)" \
    "$(best sq "SELECT date(timestamp), model, batch, serviceTier, sum(inputTokens), sum(cacheReadTokens), sum(cacheWriteTokens), sum(cacheWrite1hTokens), sum(outputTokens) FROM raw WHERE timestamp >= '$q0' AND timestamp < '$y1' GROUP BY 1, 2, 3, 4")"
  row "usage breakdown --by project --period year (records without a cost priced)" "$(best nc usage breakdown --by project --period year)" \
    "$(best sq "SELECT project, model, cost = '', sum(requests), sum(inputTokens), sum(cacheReadTokens), sum(outputTokens), sum(cost) FROM raw WHERE timestamp >= '$y0' AND timestamp < '$y1' GROUP BY 1, 2, 3")"
  row "usage breakdown --by project --period year --cost priced" "$(best nc --cost priced usage breakdown --by project --period year)" \
    "$(best sq "SELECT project, date(timestamp), model, batch, serviceTier, sum(inputTokens), sum(cacheReadTokens), sum(cacheWriteTokens), sum(cacheWrite1hTokens), sum(outputTokens) FROM raw WHERE timestamp >= '$y0' AND timestamp < '$y1' GROUP BY 1, 2, 3, 4, 5")"
fi
# Pivots and filters: what no rollup answers (the column blocks).
pu=$(sq "SELECT user FROM raw WHERE user <> '' GROUP BY user ORDER BY count(*) DESC LIMIT 1 OFFSET 1")
pk=$(sq "SELECT apiKey FROM raw GROUP BY apiKey ORDER BY count(*) DESC LIMIT 1 OFFSET 2")
cnt="count(*), sum(status='success'), sum(promptTokens+completionTokens), sum(cost)"
yr="timestamp >= '$y0' AND timestamp < '$y1'"
row "usage breakdown --by model --by region --period year" "$(best nc usage breakdown --by model --by region --period year)" \
  "$(best sq "SELECT model, region, $cnt FROM raw WHERE $yr GROUP BY 1, 2")"
row "usage breakdown --by user --by key --period year" "$(best nc usage breakdown --by user --by key --period year)" \
  "$(best sq "SELECT user, apiKey, $cnt FROM raw WHERE $yr GROUP BY 1, 2")"
row "usage stats --period year --filter region=eu-west" "$(best nc usage stats --period year --filter region=eu-west)" \
  "$(best sq "SELECT date(timestamp), model, $cnt FROM raw WHERE $yr AND region = 'eu-west' GROUP BY 1, 2")"
row "usage breakdown --by user --filter model=gpt-4o --period year" "$(best nc usage breakdown --by user --filter model=gpt-4o --period year)" \
  "$(best sq "SELECT user, $cnt FROM raw WHERE $yr AND model = 'gpt-4o' GROUP BY 1")"
row "usage top-models --filter user=(2nd busiest) --period year" "$(best nc usage top-models --filter "user=$pu" --period year)" \
  "$(best sq "SELECT model, $cnt FROM raw WHERE $yr AND user = '$pu' GROUP BY 1")"
row "usage breakdown --by project --by model --filter region=eu-west --filter key=(3rd) --period year" \
  "$(best nc usage breakdown --by project --by model --filter region=eu-west --filter "key=$pk" --period year)" \
  "$(best sq "SELECT project, model, $cnt FROM raw WHERE $yr AND region = 'eu-west' AND apiKey = '$pk' GROUP BY 1, 2")"
ncz() { "$work/nextcore" --cache "$cache" --tenant acme --tz "$1" --as-of $asof "${@:2}"; }
row "usage stats --period year --tz Asia/Kolkata" "$(best ncz Asia/Kolkata usage stats --period year)" \
  "$(best sq "SELECT date(timestamp, '+05:30'), model, $cnt FROM raw WHERE $yr GROUP BY 1, 2")"
row "usage breakdown --by model --by region --period year --tz Asia/Kolkata" "$(best ncz Asia/Kolkata usage breakdown --by model --by region --period year)" \
  "$(best sq "SELECT model, region, $cnt FROM raw WHERE $yr GROUP BY 1, 2")"
awk -v n="$records" -v s="$imp_s" -v kb="$imp_kb" 'BEGIN { printf "| import into an empty cache | %.1f s (%d records/s, %d MiB peak) | | |\n", s, n / s, kb / 1024 }'
awk -v n="$records" -v s="$dup_s" -v kb="$dup_kb" 'BEGIN { printf "| import again (all duplicates) | %.1f s (%d records/s, %d MiB peak) | | |\n", s, n / s, kb / 1024 }'
rrecords=$(wc -l < "$work/usage-$N-random2.jsonl")
awk -v n="$rrecords" -v s="$rimp_s" -v kb="$rimp_kb" 'BEGIN { printf "| import, random ids, into an empty cache | %.1f s (%d records/s, %d MiB peak) | | |\n", s, n / s, kb / 1024 }'
awk -v n="$rrecords" -v s="$rdup_s" -v kb="$rdup_kb" 'BEGIN { printf "| import, random ids, again (all duplicates) | %.1f s (%d records/s, %d MiB peak) | | |\n", s, n / s, kb / 1024 }'
awk -v n="$(wc -l < "$work/usage-$N-random3.jsonl")" -v s="$rmore_s" -v kb="$rmore_kb" 'BEGIN { printf "| import, random ids, into a cache holding as many | %.1f s (%d records/s, %d MiB peak) | | |\n", s, n / s, kb / 1024 }'
read -r exp_s exp_kb < <(/usr/bin/time -f "%e %M" "$work/nextcore" --cache "$cache" --tenant acme --tz UTC --as-of $asof \
  usage export --format csv --report records --period year --force -o "$work/records.csv" 2>&1 >/dev/null | tail -1)
rm -f "$work/records.csv"
awk -v n="$records" -v s="$exp_s" -v kb="$exp_kb" 'BEGIN { printf "| export --report records (streamed CSV) | %.1f s (%d records/s, %d MiB peak) | | |\n", s, n / s, kb / 1024 }'
awk -v a="$(stat -c %s "$cache")" -v b="$(stat -c %s "$raw")" 'BEGIN { printf "| size on disk | %d MiB | %d MiB | %.2f× |\n", a / 1048576, b / 1048576, a / b }'
# FLOOR=1: what the raw engine itself does with the random-id records: the
# C sqlite3 CLI loading the same records (as CSV) into a table with a
# unique id, and into a plain table before building that index. An import
# can hardly beat the engine's own bulk load.
if [ "${FLOOR:-}" = 1 ]; then
  rcsv="$work/usage-$N-random2.csv"
  if [ ! -s "$rcsv" ]; then
    "$work/nextcore-gen" -records "$n" -days 365 -end $end -seed 2 "${gen[@]}" -random-ids -format csv -o "$rcsv"
  fi
  cols=$(head -1 "$rcsv")
  floor="$work/floor.db"
  sqlt() { # label, SQL after the table
    rm -f "$floor" "$floor-wal" "$floor-shm"
    local s e
    s=$(date +%s%N)
    sqlite3 "$floor" "PRAGMA journal_mode=WAL;" "CREATE TABLE raw($cols$1);" ".mode csv" ".import --skip 1 $rcsv raw" "$2" >/dev/null
    e=$(date +%s%N)
    awk -v l="$3" -v n="$rrecords" -v ms="$(( (e - s) / 1000000 ))" 'BEGIN { printf "| sqlite3: %s | %.1f s (%d records/s) | | |\n", l, ms / 1000, n * 1000 / ms }'
  }
  sqlt ", UNIQUE(id)" "SELECT 1;" "the random-id records into a table with a unique id"
  sqlt "" "CREATE UNIQUE INDEX raw_id ON raw(id);" "the random-id records into a plain table, then its unique index of ids"
  rm -f "$floor" "$floor-wal" "$floor-shm"
fi
