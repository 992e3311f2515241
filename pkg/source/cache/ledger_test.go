package cache

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/storetest"
)

// TestLedgerRoundTrip: every v2 field is stored and read back as it was,
// through the raw binding and through database/sql, and the usage_records
// view shows it.
func TestLedgerRoundTrip(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 6))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	recs := storetest.LedgerRecords(rng, 2000, from, to)
	for _, sqlOnly := range []bool{false, true} {
		c, err := Open(ctx, filepath.Join(t.TempDir(), "usage.db"), Options{Create: true, SQLOnly: sqlOnly})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		store(t, c, "acme", recs)
		byID := map[string]source.Record{}
		err = c.EachRecord(ctx, "acme", from.UnixNano(), to.UnixNano(), func(r *source.Record) error {
			byID[r.ID] = *r
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range recs {
			if got := byID[want.ID]; !reflect.DeepEqual(got, want) {
				t.Fatalf("sqlOnly=%v: read back\n%+v\nwant\n%+v", sqlOnly, got, want)
			}
		}
		if err := c.Check(ctx); err != nil {
			t.Error(err)
		}

		// The view, as someone with sqlite3 would read it.
		var n, v2 int64
		err = c.db.QueryRow(`SELECT count(*), sum(requests <> 1 OR status IS NULL OR cost_nano_usd IS NULL OR tags <> '[]'
			OR project IS NOT NULL OR provider IS NOT NULL OR batch OR service_tier <> 'standard' OR long_context IS NOT NULL)
			FROM usage_records`).Scan(&n, &v2)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		for i := range recs {
			if recs[i].V2() {
				want++
			}
		}
		if n != int64(len(recs)) || v2 != want {
			t.Errorf("view: %d records, %d with ledger fields; want %d, %d", n, v2, len(recs), want)
		}
		r := recs[0]
		for i := range recs {
			if len(recs[i].Tags) > 1 {
				r = recs[i]
				break
			}
		}
		var input, prompt int64
		var tags string
		err = c.db.QueryRow(`SELECT input_tokens, cache_read_tokens + cache_write_tokens + cache_write_1h_tokens + input_tokens, tags
			FROM usage_records WHERE id = ?`, r.ID).Scan(&input, &prompt, &tags)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := json.Unmarshal([]byte(tags), &got); err != nil || !reflect.DeepEqual(got, r.Tags) {
			t.Errorf("view of %s: tags %s (%v), want %q", r.ID, tags, err, r.Tags)
		}
		if input != r.Input() || prompt != r.PromptTokens {
			t.Errorf("view of %s: input %d, prompt %d; want %d, %d", r.ID, input, prompt, r.Input(), r.PromptTokens)
		}
	}
}

// TestTagSetNames checks that a tag set's name written by hand is the
// name encoding/json gives it (the names of existing caches), and that
// tags it cannot write go to encoding/json.
func TestTagSetNames(t *testing.T) {
	for _, tc := range []struct {
		tags  []string
		plain bool
	}{
		{nil, true},
		{[]string{"prod"}, true},
		{[]string{"team:search", "env=prod", "a b", "x<y>&z", "~!@#$%^*()_+`{}|[]:;',./?"}, true},
		{[]string{""}, true},
		{[]string{`say "hi"`}, false},
		{[]string{`back\slash`}, false},
		{[]string{"tab\there"}, false},
		{[]string{"naïve"}, false},
		{[]string{"del\x7f"}, false},
		{[]string{"ok", "\u2028"}, false},
	} {
		got, ok := appendTagSetName([]byte("keep"), tc.tags)
		if ok != tc.plain || !strings.HasPrefix(string(got), "keep") {
			t.Errorf("%q: plain %v, want %v (%q)", tc.tags, ok, tc.plain, got)
			continue
		}
		if !ok {
			continue
		}
		want := ""
		if len(tc.tags) > 0 {
			var err error
			if want, err = encodeTagSet(tc.tags); err != nil {
				t.Fatal(err)
			}
		}
		if name := strings.TrimPrefix(string(got), "keep"); name != want {
			t.Errorf("%q: named %s, encoding/json %s", tc.tags, name, want)
		}
	}
}
