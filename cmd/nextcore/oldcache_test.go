package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// The caches under testdata/oldcache were made by the nextcore of their
// schema (4: before the usage_records view; 5: before the ledger's
// columns; 6: before price keys said which calls are small or count no
// requests; 7: before the providers' bills) importing
// testdata/oldcache/records.jsonl (and, from 6, records-v2.jsonl: the
// ledger's fields, records without a reported cost);
// vN-stats.json is what that binary reported on them.
const oldStatsArgs = "usage stats --period month --tz America/New_York --as-of 2026-11-23T12:00:00Z --format json"

// TestOldCachesKeepTheirNumbers opens each old cache with this build: it
// is upgraded in place, and every report on it equals the report on a cache
// this build imported from the same records, and the totals the old binary
// reported.
func TestOldCachesKeepTheirNumbers(t *testing.T) {
	imported := func(files ...string) *env {
		e := newEnv(t)
		if r := e.run("", false, append([]string{"usage", "import", "--tenant", "acme"}, files...)...); r.code != 0 {
			t.Fatalf("import: %s", r.stderr)
		}
		e.vars["NEXTCORE_TENANT"] = "acme"
		return e
	}
	v1 := imported("testdata/oldcache/records.jsonl")
	v2 := imported("testdata/oldcache/records.jsonl", "testdata/oldcache/records-v2.jsonl")
	reports := [][]string{
		strings.Fields(oldStatsArgs),
		strings.Fields("usage stats --period year --tz Asia/Kathmandu --as-of 2026-11-23T12:00:00Z --format json"),
		strings.Fields("usage breakdown --by user --by region --period month --tz Europe/London --as-of 2026-11-20 --format json"),
		strings.Fields("usage top-models --period week --tz Australia/Lord_Howe --as-of 2026-11-23 --format json"),
		strings.Fields("usage quota --as-of 2026-11-20T12:00:00Z --format json"),
		strings.Fields("usage breakdown --by provider --by project --period month --tz Asia/Kolkata --as-of 2026-11-23T12:00:00Z --format json"),
		strings.Fields("usage breakdown --by project --period week --tz America/St_Johns --as-of 2026-11-23 --format csv"),
		strings.Fields("usage breakdown --by tag --by model --period month --tz Asia/Kathmandu --as-of 2026-11-23T12:00:00Z --format json"),
		strings.Fields("usage export --report records --format csv -o -"),
		strings.Fields("usage stats --period month --tz America/New_York --as-of 2026-11-23T12:00:00Z --cost priced --format json"),
		strings.Fields("usage breakdown --by key --period month --tz America/New_York --as-of 2026-11-23T12:00:00Z --format csv"),
	}
	for _, v := range []int{4, 5, 6, 7} {
		t.Run(fmt.Sprintf("schema %d", v), func(t *testing.T) {
			fresh := v1
			if v >= 6 {
				fresh = v2
			}
			e := newEnv(t)
			path := filepath.Join(e.dir, "old.db")
			gunzip(t, fmt.Sprintf("testdata/oldcache/v%d.db.gz", v), path)
			e.vars["NEXTCORE_CACHE"] = path
			e.vars["NEXTCORE_TENANT"] = "acme"
			for i, args := range reports {
				got, want := e.run("", false, args...), fresh.run("", false, args...)
				if got.code != 0 || want.code != 0 {
					t.Fatalf("%v: exit %d (%s), fresh %d (%s)", args, got.code, got.stderr, want.code, want.stderr)
				}
				if i == 0 && got.stderr == "" {
					t.Errorf("the upgrade was not announced")
				}
				if got.stdout != want.stdout {
					t.Errorf("%v on the upgraded cache:\n%s", args, diff(want.stdout, got.stdout))
				}
			}
			c, err := cache.Open(t.Context(), path, cache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Check(t.Context()); err != nil {
				t.Errorf("check after the upgrade: %v", err)
			}

			// The old binary's own totals. Schema 6's counted records
			// without a reported cost as $0; this build prices them.
			var old, now struct {
				APICalls struct{ Total, Successful, Failed int64 }
				Tokens   struct{ Total, Prompt, Completion int64 }
				Costs    struct{ Total json.Number }
			}
			b, err := os.ReadFile(fmt.Sprintf("testdata/oldcache/v%d-stats.json", v))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &old); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(e.run("", false, strings.Fields(oldStatsArgs)...).stdout), &now); err != nil {
				t.Fatal(err)
			}
			if v == 6 {
				o, _ := new(big.Rat).SetString(old.Costs.Total.String())
				n, _ := new(big.Rat).SetString(now.Costs.Total.String())
				if o == nil || n == nil || n.Cmp(o) <= 0 {
					t.Errorf("cost: the schema-%d binary said %s, this build %s: the records without a cost are not priced", v, old.Costs.Total, now.Costs.Total)
				}
				old.Costs = now.Costs
			}
			if old != now || old.APICalls.Total == 0 {
				t.Errorf("totals: the schema-%d binary said %+v, this build says %+v", v, old, now)
			}
		})
	}
}

func gunzip(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
