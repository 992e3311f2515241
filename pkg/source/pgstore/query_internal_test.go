package pgstore

import (
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nextcore-ai/nextcore/pkg/source/cache"
)

// TestBucketIntervals: rollup rows are sent ungrouped only where each
// interval is exactly one bucket of its piece's level.
func TestBucketIntervals(t *testing.T) {
	const d = int64(24 * time.Hour)
	t0 := int64(20_000) * d // a UTC midnight
	days := func(n int) []int64 {
		b := make([]int64, n+1)
		for i := range b {
			b[i] = t0 + int64(i)*d
		}
		return b
	}
	dayPiece := func(from, to int) cache.PlanPiece {
		return cache.PlanPiece{Level: day, Start: t0 + int64(from)*d, End: t0 + int64(to)*d}
	}
	cases := []struct {
		name   string
		ps     []cache.PlanPiece
		bounds []int64
		want   bool
	}{
		{"days of day rows", []cache.PlanPiece{dayPiece(0, 30)}, days(30), true},
		{"some of the days", []cache.PlanPiece{dayPiece(2, 5)}, days(30), true},
		{"two pieces of day rows", []cache.PlanPiece{dayPiece(0, 3), dayPiece(5, 9)}, days(30), true},
		{"one interval of many days", []cache.PlanPiece{dayPiece(0, 30)}, []int64{t0, t0 + 30*d}, false},
		{"an interval of two days", []cache.PlanPiece{dayPiece(0, 4)}, []int64{t0, t0 + d, t0 + 3*d, t0 + 4*d}, false},
		{"8-day rows in days", []cache.PlanPiece{{Level: days8, Start: t0, End: t0 + 8*d}}, days(8), false},
		{"a piece off the bounds", []cache.PlanPiece{{Level: day, Start: t0 + d/2, End: t0 + d/2 + d}}, days(3), false},
		{"a piece past the last bound", []cache.PlanPiece{dayPiece(0, 4)}, days(3), false},
		{"hours of hour rows", []cache.PlanPiece{{Level: hour, Start: t0, End: t0 + 3*int64(time.Hour)}},
			[]int64{t0, t0 + int64(time.Hour), t0 + 2*int64(time.Hour), t0 + 3*int64(time.Hour)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := bucketIntervals(c.ps, c.bounds); got != c.want {
				t.Errorf("bucketIntervals = %v, want %v", got, c.want)
			}
		})
	}
}

// TestWireInts: the rows read off the wire are (integer, text, bigint…) in
// binary; anything else is scanned as pgx decodes it.
func TestWireInts(t *testing.T) {
	fd := func(oid uint32, format int16) pgconn.FieldDescription {
		return pgconn.FieldDescription{DataTypeOID: oid, Format: format}
	}
	bin := int16(pgtype.BinaryFormatCode)
	cases := []struct {
		name string
		fds  []pgconn.FieldDescription
		want bool
	}{
		{"int4, text, int8s", []pgconn.FieldDescription{fd(pgtype.Int4OID, bin), fd(pgtype.TextOID, 0), fd(pgtype.Int8OID, bin), fd(pgtype.Int8OID, bin)}, true},
		{"int8, text, int8", []pgconn.FieldDescription{fd(pgtype.Int8OID, bin), fd(pgtype.TextOID, 0), fd(pgtype.Int8OID, bin)}, true},
		{"a counter as int4", []pgconn.FieldDescription{fd(pgtype.Int4OID, bin), fd(pgtype.TextOID, 0), fd(pgtype.Int4OID, bin)}, false},
		{"a counter as numeric", []pgconn.FieldDescription{fd(pgtype.Int4OID, bin), fd(pgtype.TextOID, 0), fd(pgtype.NumericOID, bin)}, false},
		{"text format", []pgconn.FieldDescription{fd(pgtype.Int4OID, 0), fd(pgtype.TextOID, 0), fd(pgtype.Int8OID, 0)}, false},
		{"the member not text", []pgconn.FieldDescription{fd(pgtype.Int4OID, bin), fd(pgtype.ByteaOID, bin), fd(pgtype.Int8OID, bin)}, false},
		{"one column", []pgconn.FieldDescription{fd(pgtype.Int4OID, bin)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := binaryInts(c.fds); got != c.want {
				t.Errorf("binaryInts = %v, want %v", got, c.want)
			}
		})
	}
	for _, c := range []struct {
		b    []byte
		want int64
		ok   bool
	}{
		{[]byte{0, 0, 0, 7}, 7, true},
		{[]byte{0xff, 0xff, 0xff, 0xfe}, -2, true},
		{[]byte{0, 0, 0, 1, 0, 0, 0, 0}, 1 << 32, true},
		{[]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, math.MinInt64, true},
		{nil, 0, false}, // NULL
		{[]byte{1, 2}, 0, false},
	} {
		if got, ok := wireInt(c.b); got != c.want || ok != c.ok {
			t.Errorf("wireInt(%v) = %d, %v; want %d, %v", c.b, got, ok, c.want, c.ok)
		}
	}
}
