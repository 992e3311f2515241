// Package pgtest gives tests a PostgreSQL schema of their own on the test
// server (NEXTCORE_TEST_PG; scripts/pg-test-server.sh starts one), or skips
// them saying how to start one.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ServerURL is the test server's URL for the writer role (NEXTCORE_TEST_PG),
// or the test is skipped, saying how to start one.
func ServerURL(t testing.TB, name string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" && os.Getenv("NEXTCORE_TEST_PG_REQUIRED") != "" {
		t.Fatalf("no PostgreSQL server configured: %s is unset, and NEXTCORE_TEST_PG_REQUIRED says the tests need one", name)
	}
	if u == "" {
		t.Skipf("no PostgreSQL server configured: %s is unset (eval \"$(scripts/pg-test-server.sh)\" starts one)", name)
	}
	return u
}

var schemaSeq struct {
	sync.Mutex
	n int
}

// Fresh is a URL of the test server whose search_path is a schema of
// the test's own, dropped when it ends.
func Fresh(t testing.TB) (writer, schema string) {
	t.Helper()
	base := ServerURL(t, "NEXTCORE_TEST_PG")
	schemaSeq.Lock()
	schemaSeq.n++
	schema = fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.n)
	schemaSeq.Unlock()
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop the test schema: %v", err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }() // the schema is dropped or the error said
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop the test schema: %v", err)
		}
	})
	return WithSchema(base, schema), schema
}

// WithSchema is u with its search_path set to schema.
func WithSchema(u, schema string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String()
}
