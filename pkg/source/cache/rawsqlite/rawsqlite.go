// Package rawsqlite binds statements straight to SQLite's C API (as
// modernc.org/sqlite compiles it to Go), under a database/sql connection of
// that driver. It is for the one loop where database/sql's work per
// argument (checking, converting and copying every value, a C string per
// text) costs more than SQLite's own: storing records and their rollups.
//
// It is fenced here because it depends on what the driver does not promise:
// the names and types of its connection's unexported fields, and a
// modernc.org/libc of the version the driver was built with. Of says when
// they do not fit, and the cache then writes through database/sql (slower,
// same results); the tests of this package fail, saying what to do, when a
// dependency upgrade breaks either assumption.
package rawsqlite

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Conn is the SQLite connection under a database/sql connection. Use it
// only inside that connection's Raw, which keeps it for the caller.
type Conn struct {
	tls *libc.TLS
	db  uintptr // sqlite3*
	// mutex is where the connection keeps its mutex (sqlite3.mutex), or
	// 0 when that cannot be found for sure: see Stmt.Bind.
	mutex uintptr
}

var tlsType = reflect.TypeFor[*libc.TLS]()

// Of returns the SQLite handle of a modernc.org/sqlite driver connection (the
// argument of sql.Conn.Raw's function), or why it cannot.
func Of(driverConn any) (Conn, error) {
	v := reflect.ValueOf(driverConn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return Conn{}, fmt.Errorf("the driver connection is a %T, not a pointer to a struct", driverConn)
	}
	s := v.Elem()
	db, tls := s.FieldByName("db"), s.FieldByName("tls")
	switch {
	case !db.IsValid() || db.Kind() != reflect.Uintptr:
		return Conn{}, fmt.Errorf("%s has no field db of type uintptr", s.Type())
	case !tls.IsValid() || tls.Type() != tlsType:
		return Conn{}, fmt.Errorf("%s has no field tls of type %s (a modernc.org/libc other than the driver's?)", s.Type(), tlsType)
	}
	c := Conn{
		db:  *(*uintptr)(unsafe.Pointer(db.UnsafeAddr())),
		tls: *(**libc.TLS)(unsafe.Pointer(tls.UnsafeAddr())),
	}
	if c.db == 0 || c.tls == nil {
		return Conn{}, errors.New("the driver connection is not open")
	}
	// The connection's mutex is the field that sqlite3_db_mutex returns;
	// it is used only when the layout says the same.
	at := c.db + unsafe.Offsetof(sqlite3.Tsqlite3{}.Fmutex)
	if m := sqlite3.Xsqlite3_db_mutex(c.tls, c.db); m != 0 && *cPtr(at) == m {
		c.mutex = at
	}
	return c, nil
}

// cPtr is the word at address at of SQLite's memory, which the Go
// collector does not manage.
func cPtr(at uintptr) *uintptr { return (*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&at))) }

// err is SQLite's result code rc with its message for the last failed call
// on the connection.
func (c Conn) err(rc int32) error {
	return &Error{code: int(rc), msg: libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))}
}

// Error is an SQLite error, with its code as the driver's errors have.
type Error struct {
	code int
	msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// Code is the SQLite result code.
func (e *Error) Code() int { return e.code }

// Stmt is a prepared statement with its arguments bound by position.
// Text is copied into one buffer per execution and bound without another
// copy; the buffer stays pinned until the statement is reset.
type Stmt struct {
	c      Conn
	p      uintptr // sqlite3_stmt*
	out    uintptr // where prepare writes the statement
	text   []byte
	pin    runtime.Pinner
	pinned bool
	// bound are the integers bound by parameter (SQLite keeps bindings
	// from one execution to the next): the same value is not bound again.
	bound []boundInt
}

type boundInt struct {
	v  int64
	ok bool // v is what the parameter holds
}

// forget says that parameter i holds something other than an integer.
func (s *Stmt) forget(i int) {
	if i < len(s.bound) {
		s.bound[i].ok = false
	}
}

// Prepare prepares query.
func (c Conn) Prepare(query string) (*Stmt, error) {
	s := &Stmt{c: c}
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

// Reserve makes room for n bytes of text in this execution, before any text
// is bound (the buffer must not move once bound).
func (s *Stmt) Reserve(n int) {
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

// Bind runs fn, which binds parameters of the statement (Int64, Null, Str,
// Blob) and does nothing else with SQLite, with the connection's mutex set
// aside: every bind locks and unlocks it otherwise, which costs more than
// the bind itself. The connection is the caller's alone (inside
// sql.Conn.Raw) and a bind takes no other lock, so nothing can wait on the
// mutex meanwhile; it is back in place when fn returns.
func (s *Stmt) Bind(fn func() error) error {
	if s.c.mutex == 0 {
		return fn()
	}
	m := cPtr(s.c.mutex)
	saved := *m
	*m = 0
	defer func() { *m = saved }()
	return fn()
}

// Int64 binds v to parameter i (from 1), unless it holds v already.
func (s *Stmt) Int64(i int, v int64) error {
	if i < len(s.bound) && s.bound[i].ok && s.bound[i].v == v {
		return nil
	}
	if rc := sqlite3.Xsqlite3_bind_int64(s.c.tls, s.p, int32(i), v); rc != sqlite3.SQLITE_OK {
		s.forget(i)
		return s.c.err(rc)
	}
	if i >= len(s.bound) {
		s.bound = append(s.bound, make([]boundInt, i+1-len(s.bound))...)
	}
	s.bound[i] = boundInt{v, true}
	return nil
}

func (s *Stmt) Null(i int) error {
	s.forget(i)
	if rc := sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, int32(i)); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// Str binds v, which must fit in the room reserved.
func (s *Stmt) Str(i int, v string) error {
	s.forget(i)
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

// Blob binds b, which must fit in the room reserved; nil is NULL, as
// database/sql binds it.
func (s *Stmt) Blob(i int, b []byte) error {
	if b == nil {
		return s.Null(i)
	}
	s.forget(i)
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
func (s *Stmt) place(v string) (uintptr, error) {
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

// Reset forgets an execution that was not run.
func (s *Stmt) Reset() {
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	if s.pinned {
		s.pin.Unpin()
		s.pinned = false
	}
}

// Exec runs the statement to its end and returns how many rows it changed.
func (s *Stmt) Exec() (int64, error) {
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.p)
	n := int64(sqlite3.Xsqlite3_changes(s.c.tls, s.c.db))
	var err error
	if rc != sqlite3.SQLITE_DONE {
		err = s.c.err(rc)
	}
	s.Reset()
	return n, err
}

func (s *Stmt) Close() {
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

// Step runs the statement to its next row: false at its end.
func (s *Stmt) Step() (bool, error) {
	switch rc := sqlite3.Xsqlite3_step(s.c.tls, s.p); rc {
	case sqlite3.SQLITE_ROW:
		return true, nil
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		return false, s.c.err(rc)
	}
}

// ColumnInt64 is column i of the current row as an integer.
func (s *Stmt) ColumnInt64(i int) int64 { return sqlite3.Xsqlite3_column_int64(s.c.tls, s.p, int32(i)) }

// ColumnBlob is column i of the current row as bytes, where SQLite holds
// them: valid only until the statement steps again or is reset, and not
// to be written to.
func (s *Stmt) ColumnBlob(i int) []byte {
	p := sqlite3.Xsqlite3_column_blob(s.c.tls, s.p, int32(i))
	n := sqlite3.Xsqlite3_column_bytes(s.c.tls, s.p, int32(i))
	if p == 0 || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), n)
}

// Blob is a BLOB of one column of a rowid table, opened for reading
// (sqlite3_blob_open) and moved from row to row: its bytes are read
// straight into a buffer of the caller's, without the copy SQLite
// allocates for a column read by a statement.
type Blob struct {
	c   Conn
	p   uintptr // sqlite3_blob*
	out uintptr // where blob_open writes the handle
	pin runtime.Pinner
}

// OpenBlob opens column of table (of the main database) at row rowid.
func (c Conn) OpenBlob(table, column string, rowid int64) (*Blob, error) {
	b := &Blob{c: c}
	main, t, col := []byte("main\x00"), append([]byte(table), 0), append([]byte(column), 0)
	b.pin.Pin(&main[0])
	b.pin.Pin(&t[0])
	b.pin.Pin(&col[0])
	b.pin.Pin(&b.out)
	rc := sqlite3.Xsqlite3_blob_open(c.tls, c.db, uintptr(unsafe.Pointer(&main[0])), uintptr(unsafe.Pointer(&t[0])),
		uintptr(unsafe.Pointer(&col[0])), rowid, 0, uintptr(unsafe.Pointer(&b.out)))
	b.p = b.out
	b.pin.Unpin()
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		if b.p != 0 {
			sqlite3.Xsqlite3_blob_close(c.tls, b.p)
		}
		return nil, err
	}
	return b, nil
}

// Reopen moves the blob to row rowid.
func (b *Blob) Reopen(rowid int64) error {
	if rc := sqlite3.Xsqlite3_blob_reopen(b.c.tls, b.p, rowid); rc != sqlite3.SQLITE_OK {
		return b.c.err(rc)
	}
	return nil
}

// Len is the size of the blob, in bytes.
func (b *Blob) Len() int { return int(sqlite3.Xsqlite3_blob_bytes(b.c.tls, b.p)) }

// Read fills dst (no longer than Len) with the blob's first bytes.
func (b *Blob) Read(dst []byte) error {
	if len(dst) == 0 {
		return nil
	}
	b.pin.Pin(&dst[0])
	rc := sqlite3.Xsqlite3_blob_read(b.c.tls, b.p, uintptr(unsafe.Pointer(&dst[0])), int32(len(dst)), 0)
	b.pin.Unpin()
	if rc != sqlite3.SQLITE_OK {
		return b.c.err(rc)
	}
	return nil
}

// Close closes the blob.
func (b *Blob) Close() {
	if b != nil && b.p != 0 {
		sqlite3.Xsqlite3_blob_close(b.c.tls, b.p)
		b.p = 0
	}
}
