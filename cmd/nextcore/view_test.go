package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// TestCacheView reads the documented view usage_records with the C sqlite3
// CLI (or, without it, the driver) and checks it against the imported file:
// one row a record, names, ISO times, exact nano-dollars.
func TestCacheView(t *testing.T) {
	e := imported(t)
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type rec struct {
		ID, Timestamp, Model, APIKey, User, Region, Status string
		Cost                                               json.Number
		PromptTokens, CompletionTokens                     int64
	}
	var first rec
	var n, tokens int64
	var cost source.USD
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r rec
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			first = r
		}
		c, err := source.ParseUSD(r.Cost.String())
		if err != nil {
			t.Fatal(err)
		}
		n, tokens, cost = n+1, tokens+r.PromptTokens+r.CompletionTokens, cost+c
	}
	queries := []string{
		"SELECT count(*), sum(tokens), sum(cost_nano_usd) FROM usage_records WHERE tenant = 'acme'",
		"SELECT id, timestamp, model, api_key, user, region, status FROM usage_records WHERE id = '" + first.ID + "'",
	}
	want := []string{
		strconv.FormatInt(n, 10) + "|" + strconv.FormatInt(tokens, 10) + "|" + strconv.FormatInt(int64(cost), 10),
		strings.Join([]string{first.ID, first.Timestamp, first.Model, first.APIKey, first.User, first.Region, first.Status}, "|"),
	}
	for i, q := range queries {
		var got string
		if _, err := exec.LookPath("sqlite3"); err == nil {
			out, err := exec.Command("sqlite3", "-readonly", e.cachePath(), q).CombinedOutput()
			if err != nil {
				t.Fatalf("sqlite3: %v\n%s", err, out)
			}
			got = strings.TrimSpace(string(out))
		} else {
			t.Log("no sqlite3 CLI (apt-get install sqlite3): reading through the driver")
			db, err := sql.Open("sqlite", "file:"+e.cachePath()+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for j := range vals {
				ptrs[j] = &vals[j]
			}
			rows.Next()
			rows.Scan(ptrs...)
			var parts []string
			for _, v := range vals {
				parts = append(parts, v.String)
			}
			got = strings.Join(parts, "|")
			rows.Close()
			db.Close()
		}
		if got != want[i] {
			t.Errorf("%s\n got %q\nwant %q", q, got, want[i])
		}
	}
}
