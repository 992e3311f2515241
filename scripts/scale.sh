#!/usr/bin/env bash
# How cost grows with history: the same tenant (records v2, wide: thousands
# of users, late records; about 27,000 calls a day) over 1 M, 10 M and 30 M
# records (37 days, a year, three years), with ids in time order and random
# ids. For each: the import into an empty cache (records/s, peak memory),
# the cache's size, and reports over the last month and year (whole
# process, best of 3), the pivot and the filter read from the column
# blocks. Run by hand (not in CI):   scripts/scale.sh [SIZES...]
# Needs: go, /usr/bin/time, about 2.5× the largest data set of free disk
# under BENCH_DIR (30 M records: 16 GB of JSON Lines, 6 GB of cache).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000 30000000)
go build -o "$work/nextcore" ./cmd/nextcore
go build -o "$work/nextcore-gen" ./cmd/nextcore-gen
end=2026-11-26
asof=2026-11-25

best() { # best of 3 wall-clock runs, in milliseconds
  local b=999999999 s e t
  for _ in 1 2 3; do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t=$(( (e - s) / 1000000 )); [ "$t" -lt "$b" ] && b=$t
  done
  echo "$b"
}

printf '| records | ids | days | import | peak memory | cache | stats month | stats year | pivot year | filter year |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  days=$(( n / 27400 ))
  [ "$days" -ge 1 ] || days=1
  for ids in ordered random; do
    gen=(-ledger -wide)
    [ "$ids" = random ] && gen+=(-random-ids)
    data="$work/scale-$n-$ids.jsonl"
    "$work/nextcore-gen" -records "$n" -days "$days" -end $end -seed 7 "${gen[@]}" -o "$data" 2>/dev/null
    records=$(wc -l < "$data")
    cache="$work/scale-$n-$ids.db"
    rm -f "$cache" "$cache-wal" "$cache-shm"
    read -r s kb < <(/usr/bin/time -f "%e %M" "$work/nextcore" usage import --tenant acme --cache "$cache" "$data" 2>&1 >/dev/null | tail -1)
    rm -f "$data"
    nc() { "$work/nextcore" --cache "$cache" --tenant acme --tz UTC --as-of $asof "$@"; }
    month=$(best nc usage stats --period month)
    year=$(best nc usage stats --period year)
    pivot=$(best nc usage breakdown --by model --by region --period year)
    filter=$(best nc usage breakdown --by user --filter model=gpt-4o --period year)
    size=$(stat -c %s "$cache")
    awk -v n="$records" -v ids="$ids" -v d="$days" -v s="$s" -v kb="$kb" -v size="$size" \
      -v m="$month" -v y="$year" -v p="$pivot" -v f="$filter" \
      'BEGIN { printf "| %d | %s | %d | %d records/s | %d MiB | %d MiB | %d ms | %d ms | %d ms | %d ms |\n", n, ids, d, n / s, kb / 1024, size / 1048576, m, y, p, f }'
    rm -f "$cache" "$cache-wal" "$cache-shm"
  done
done
