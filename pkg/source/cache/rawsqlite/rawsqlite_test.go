package rawsqlite

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestFitsTheDriver binds through a real connection of the driver and reads
// the row back through database/sql. When it fails after a dependency
// upgrade, imports still work but slowly (through database/sql): update Of
// to the driver's new connection type, or pin the driver back.
func TestFitsTheDriver(t *testing.T) {
	db, conn := tempDB(t, "CREATE TABLE t (n INTEGER, s TEXT, b BLOB, z INTEGER)")
	err := conn.Raw(func(dc any) error {
		c, err := Of(dc)
		if err != nil {
			t.Fatalf("the raw binding does not fit this modernc.org/sqlite: %v.\n"+
				"Imports fall back to database/sql, several times slower. Update rawsqlite.Of to the driver's connection, "+
				"or keep the driver at the version go.mod had.", err)
		}
		s, err := c.Prepare("INSERT INTO t VALUES (?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer s.Close()
		if c.mutex == 0 {
			t.Errorf("the connection's mutex was not found (sqlite3.mutex moved?): every bind locks it, which slows imports. " +
				"Update Of to where this SQLite keeps it.")
		}
		mutex := sqlite3.Xsqlite3_db_mutex(c.tls, c.db)
		s.Reserve(len("héllo\x00") + 3)
		err = s.Bind(func() error {
			if c.mutex != 0 && sqlite3.Xsqlite3_db_mutex(c.tls, c.db) != 0 {
				t.Error("the mutex is in place while binding")
			}
			for _, bind := range []error{s.Int64(1, -42), s.Str(2, "héllo\x00"), s.Blob(3, []byte{1, 2, 3}), s.Null(4)} {
				if bind != nil {
					return bind
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if m := sqlite3.Xsqlite3_db_mutex(c.tls, c.db); m != mutex || m == 0 {
			t.Errorf("the mutex is %#x after binding, was %#x", m, mutex)
		}
		n, err := s.Exec()
		if n != 1 {
			t.Errorf("%d rows changed", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	var str string
	var b []byte
	var z sql.NullInt64
	if err := db.QueryRow("SELECT n, s, b, z FROM t").Scan(&n, &str, &b, &z); err != nil {
		t.Fatal(err)
	}
	if n != -42 || str != "héllo\x00" || string(b) != "\x01\x02\x03" || z.Valid {
		t.Errorf("read back %d %q %v %v", n, str, b, z)
	}
}

// tempDB opens a new database of the driver, runs schema, and holds one
// of its connections; both close when the test ends.
func tempDB(t *testing.T, schema string) (*sql.DB, *sql.Conn) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return db, conn
}

// TestBlob reads blobs of many pages (overflow pages) and of none through
// the blob API, moving one handle from row to row; a missing row is an
// error.
func TestBlob(t *testing.T) {
	db, conn := tempDB(t, "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
	want := map[int64][]byte{1: make([]byte, 100_000), 2: {7}, 3: {}}
	for i := range want[1] {
		want[1][i] = byte(i * 7)
	}
	for id, b := range want {
		if _, err := db.Exec("INSERT INTO t VALUES (?, ?)", id, b); err != nil {
			t.Fatal(err)
		}
	}
	err := conn.Raw(func(dc any) error {
		c, err := Of(dc)
		if err != nil {
			t.Skip(err) // TestFitsTheDriver says why
		}
		if _, err := c.OpenBlob("t", "data", 9); err == nil {
			t.Error("a blob of a missing row opened")
		}
		b, err := c.OpenBlob("t", "data", 3)
		if err != nil {
			return err
		}
		defer b.Close()
		for _, id := range []int64{3, 1, 2, 1} {
			if err := b.Reopen(id); err != nil {
				return err
			}
			got := make([]byte, b.Len())
			if err := b.Read(got); err != nil {
				return err
			}
			if string(got) != string(want[id]) {
				t.Errorf("row %d: read %d bytes, want %d", id, len(got), len(want[id]))
			}
		}
		if err := b.Reopen(9); err == nil {
			t.Error("a missing row reopened")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLibcIsTheDrivers: modernc.org/sqlite is compiled against one version
// of modernc.org/libc, and the raw binding calls into both; a go.mod that
// lets them drift (a go get -u) must fail here, not in a user's import.
func TestLibcIsTheDrivers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	list := func(mod, format string) string {
		out, err := exec.Command("go", "list", "-m", "-f", format, mod).Output()
		if err != nil {
			t.Fatalf("go list -m %s: %v", mod, err)
		}
		return strings.TrimSpace(string(out))
	}
	sqliteVersion, goMod, _ := strings.Cut(list("modernc.org/sqlite", "{{.Version}} {{.GoMod}}"), " ")
	libcVersion := list("modernc.org/libc", "{{.Version}}")
	f, err := os.Open(goMod)
	if err != nil {
		t.Fatalf("modernc.org/sqlite %s's go.mod: %v", sqliteVersion, err)
	}
	defer f.Close()
	want := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i := 0; i+1 < len(fields); i++ {
			if fields[i] == "modernc.org/libc" {
				want = fields[i+1]
			}
		}
	}
	if want == "" {
		t.Fatalf("modernc.org/sqlite %s's go.mod names no modernc.org/libc", sqliteVersion)
	}
	if libcVersion != want {
		t.Errorf("modernc.org/libc is %s, but modernc.org/sqlite %s is built for %s: run go get modernc.org/libc@%s",
			libcVersion, sqliteVersion, want, want)
	}
}
