package cache

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is the SQLite connection under a database/sql connection, used for
// the one loop where database/sql's work per argument (checking, converting
// and copying every value, a C string per text) costs more than SQLite's own:
// inserting records. Everything else goes through database/sql.
//
// The driver does not export its handle, so rawOf finds it by name and type;
// if a driver version keeps it elsewhere, rawOf says so and the writer uses
// database/sql (slower, same results). A test makes sure the fast path is
// the one taken.
type rawConn struct {
	tls *libc.TLS
	db  uintptr // sqlite3*
}

var tlsType = reflect.TypeFor[*libc.TLS]()

// rawOf returns the SQLite handle of a modernc.org/sqlite driver connection.
func rawOf(driverConn any) (rawConn, bool) {
	v := reflect.ValueOf(driverConn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return rawConn{}, false
	}
	s := v.Elem()
	db, tls := s.FieldByName("db"), s.FieldByName("tls")
	if !db.IsValid() || db.Kind() != reflect.Uintptr || !tls.IsValid() || tls.Type() != tlsType {
		return rawConn{}, false
	}
	r := rawConn{
		db:  *(*uintptr)(unsafe.Pointer(db.UnsafeAddr())),
		tls: *(**libc.TLS)(unsafe.Pointer(tls.UnsafeAddr())),
	}
	return r, r.db != 0 && r.tls != nil
}

// err is SQLite's result code rc with its message for the last failed call
// on the connection.
func (c rawConn) err(rc int32) error {
	return &rawError{code: int(rc), msg: libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))}
}

// rawError is an SQLite error, with its code as the driver's errors have.
type rawError struct {
	code int
	msg  string
}

func (e *rawError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// Code is the SQLite result code.
func (e *rawError) Code() int { return e.code }

// rawStmt is a prepared statement with its arguments bound by position.
// Text is copied into one buffer per execution and bound without another
// copy; the buffer stays pinned until the statement is reset.
type rawStmt struct {
	c      rawConn
	p      uintptr // sqlite3_stmt*
	out    uintptr // where prepare writes the statement
	text   []byte
	pin    runtime.Pinner
	pinned bool
}

func (c rawConn) prepare(query string) (*rawStmt, error) {
	s := &rawStmt{c: c}
	z := append([]byte(query), 0)
	s.pin.Pin(&z[0])
	s.pin.Pin(&s.out)
	rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, uintptr(unsafe.Pointer(&z[0])), int32(len(query)), uintptr(unsafe.Pointer(&s.out)), 0)
	s.p = s.out
	s.pin.Unpin()
	if rc != sqlite3.SQLITE_OK {
		return nil, c.err(rc)
	}
	return s, nil
}

// reserve makes room for n bytes of text in this execution, before any text
// is bound (the buffer must not move once bound).
func (s *rawStmt) reserve(n int) {
	if s.pinned {
		s.pin.Unpin()
	}
	if cap(s.text) < n+1 { // at least a byte, for the address of an empty value
		s.text = make([]byte, 0, n+1)
	}
	s.text = s.text[:0]
	s.pin.Pin(&s.text[:1][0])
	s.pinned = true
}

func (s *rawStmt) int64(i int, v int64) error {
	if rc := sqlite3.Xsqlite3_bind_int64(s.c.tls, s.p, int32(i), v); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

func (s *rawStmt) null(i int) error {
	if rc := sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, int32(i)); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// str binds v, which must fit in the room reserved.
func (s *rawStmt) str(i int, v string) error {
	p, err := s.place(v)
	if err != nil {
		return err
	}
	// A nil destructor is SQLITE_STATIC: SQLite reads the text in place.
	if rc := sqlite3.Xsqlite3_bind_text(s.c.tls, s.p, int32(i), p, int32(len(v)), 0); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// blob binds b, which must fit in the room reserved; nil is NULL, as
// database/sql binds it.
func (s *rawStmt) blob(i int, b []byte) error {
	if b == nil {
		return s.null(i)
	}
	p, err := s.place(unsafe.String(unsafe.SliceData(b), len(b))) // copied by place
	if err != nil {
		return err
	}
	if rc := sqlite3.Xsqlite3_bind_blob(s.c.tls, s.p, int32(i), p, int32(len(b)), 0); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// place copies v into the reserved room and returns where it is.
func (s *rawStmt) place(v string) (uintptr, error) {
	if len(s.text)+len(v) > cap(s.text) {
		return 0, errors.New("bind buffer too small")
	}
	at := len(s.text)
	s.text = append(s.text, v...)
	if len(v) == 0 {
		return uintptr(unsafe.Pointer(&s.text[:1][0])), nil // empty, not NULL
	}
	return uintptr(unsafe.Pointer(&s.text[at])), nil
}

// reset forgets an execution that was not run.
func (s *rawStmt) reset() {
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	if s.pinned {
		s.pin.Unpin()
		s.pinned = false
	}
}

// exec runs the statement to its end and returns how many rows it changed.
func (s *rawStmt) exec() (int64, error) {
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.p)
	n := int64(sqlite3.Xsqlite3_changes(s.c.tls, s.c.db))
	var err error
	if rc != sqlite3.SQLITE_DONE {
		err = s.c.err(rc)
	}
	s.reset()
	return n, err
}

func (s *rawStmt) close() {
	if s == nil || s.p == 0 {
		return
	}
	sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
	s.p = 0
	if s.pinned {
		s.pin.Unpin()
		s.pinned = false
	}
}
