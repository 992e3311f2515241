package report

import (
	"fmt"
	"time"
)

// Date is a calendar date, free of any time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the date of t on its own clock.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("bad date %q (use YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays is the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// DaysUntil is the number of days from d to e (negative when e is before d).
func (d Date) DaysUntil(e Date) int { return int(e.utc().Sub(d.utc()).Hours() / 24) }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.utc().Before(e.utc()) }

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Format formats d with a time layout.
func (d Date) Format(layout string) string { return d.utc().Format(layout) }

// Start is the first instant of d in loc: 00:00, or the first time the clock
// shows on d when a DST change skips midnight.
func (d Date) Start(loc *time.Location) time.Time {
	return WallTime(d, 0, loc)
}

// WallTime is the instant at which loc's clocks show date d and clock
// reading wall (a duration since 00:00). A reading that happens twice (the
// hour DST repeats) means the first; one that never happens (the hour DST
// skips) is read with the offset from before the change, which lands just as
// far past the gap. This is RFC 5545's rule, Temporal's "compatible" and
// Python's fold=0.
func WallTime(d Date, wall time.Duration, loc *time.Location) time.Time {
	// The wall reading as if it were UTC, in seconds, plus nanoseconds.
	w := d.utc().Add(wall)
	ws := w.Unix()
	ns := int64(w.Nanosecond())
	// Offsets in force within two days either side.
	var offsets []int
	for h := -48; h <= 48; h += 3 {
		_, off := time.Unix(ws+int64(h)*3600, 0).In(loc).Zone()
		if !containsInt(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	best := int64(0)
	found := false
	earliest := int64(0)
	for i, off := range offsets {
		inst := ws - int64(off)
		if i == 0 || inst < earliest {
			earliest = inst
		}
		if _, o := time.Unix(inst, 0).In(loc).Zone(); o == off && (!found || inst < best) {
			best, found = inst, true
		}
	}
	if !found {
		// In a gap: use the offset that held just before it.
		_, before := time.Unix(earliest, 0).In(loc).Zone()
		best = ws - int64(before)
	}
	return time.Unix(best, ns).In(loc)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Clock is "now" for a report: the instant, and the calendar day it is in.
type Clock struct {
	Now   time.Time
	Today Date
	// EndOfDay is set when --as-of named a date: Now is then the end of
	// Today (the start of the next day) and still counts as Today.
	EndOfDay bool
}

// ClockAt is the clock at instant now in loc.
func ClockAt(now time.Time, loc *time.Location) Clock {
	now = now.In(loc)
	return Clock{Now: now, Today: DateOf(now)}
}

// ClockEndOf is the clock at the end of day d in loc.
func ClockEndOf(d Date, loc *time.Location) Clock {
	return Clock{Now: d.AddDays(1).Start(loc), Today: d, EndOfDay: true}
}

// ParseAsOf reads --as-of: an RFC 3339 time, or a date meaning the end of
// that day in loc.
func ParseAsOf(s string, loc *time.Location) (Clock, error) {
	if d, err := ParseDate(s); err == nil {
		return ClockEndOf(d, loc), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Clock{}, fmt.Errorf("bad time %q (use a date such as 2026-11-23 or an RFC 3339 time such as 2026-11-23T18:00:00Z)", s)
	}
	return ClockAt(t, loc), nil
}

// DaysAgo is the same wall-clock time n days before the clock's now (the end
// of a previous window).
func (c Clock) DaysAgo(n int) time.Time {
	loc := c.Now.Location()
	if c.EndOfDay {
		return c.Today.AddDays(1 - n).Start(loc)
	}
	h, m, s := c.Now.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(c.Now.Nanosecond())
	return WallTime(c.Today.AddDays(-n), wall, loc)
}
