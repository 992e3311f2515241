package pgstore

import (
	"testing"
	"time"

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
