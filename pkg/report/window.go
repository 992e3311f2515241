// Package report turns usage into the numbers of docs/numbers.md: windows,
// totals, changes, daily series, model rankings, quota and forecasts. Every
// function here is a pure function of its inputs and the clock it is given.
package report

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Period is a named window length.
type Period string

// The periods of --period, and "custom" for --from/--to.
const (
	Today  Period = "today"
	Week   Period = "week"
	Month  Period = "month"
	Year   Period = "year"
	Custom Period = "custom"
)

// Days is the number of days a named period covers.
func (p Period) Days() int {
	switch p {
	case Today:
		return 1
	case Week:
		return 7
	case Month:
		return 30
	case Year:
		return 365
	}
	return 0
}

// ParsePeriod reads --period.
func ParsePeriod(s string) (Period, error) {
	switch p := Period(strings.ToLower(s)); p {
	case Today, Week, Month, Year:
		return p, nil
	}
	return "", fmt.Errorf("unknown period %q (use today, week, month or year)", s)
}

// Window is a stretch of time [Start, End).
type Window struct {
	Start, End time.Time
}

// Contains reports whether t is in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// Span is a report's window, the window it is compared with, and the
// calendar days of the current window.
type Span struct {
	Period   Period
	Current  Window
	Previous Window
	Days     []Date // every day of Current, oldest first
	Location *time.Location
}

// Range is what the window flags asked for: a period, or dates From..To.
type Range struct {
	Period Period
	From   *Date
	To     *Date // nil: today
}

// Resolve turns a range into windows on the clock, as docs/numbers.md says:
// a period of D days is [00:00 of today−(D−1), now), compared with
// [00:00 of today−(2D−1), now − D days); dates A..B are [00:00 A, 00:00 B+1),
// compared with the D days before A.
func Resolve(r Range, clock Clock) (Span, error) {
	loc := clock.Now.Location()
	if r.From != nil {
		to := clock.Today
		if r.To != nil {
			to = *r.To
		}
		if to.Before(*r.From) {
			return Span{}, fmt.Errorf("the first day %s is after the last %s", r.From, to)
		}
		d := r.From.DaysUntil(to) + 1
		if d > 366*20 {
			return Span{}, fmt.Errorf("%s to %s is more than 20 years", r.From, to)
		}
		s := Span{Period: Custom, Location: loc,
			Current:  Window{r.From.Start(loc), to.AddDays(1).Start(loc)},
			Previous: Window{r.From.AddDays(-d).Start(loc), r.From.Start(loc)},
		}
		for i := range d {
			s.Days = append(s.Days, r.From.AddDays(i))
		}
		return s, nil
	}
	if r.To != nil {
		return Span{}, errors.New("a range needs its first day")
	}
	p := r.Period
	if p == "" {
		p = Month
	}
	d := p.Days()
	first := clock.Today.AddDays(-(d - 1))
	s := Span{Period: p, Location: loc,
		Current:  Window{first.Start(loc), clock.Now},
		Previous: Window{clock.Today.AddDays(-(2*d - 1)).Start(loc), clock.DaysAgo(d)},
	}
	for i := range d {
		s.Days = append(s.Days, first.AddDays(i))
	}
	return s, nil
}

// DayBounds are the instants that split the current window into its days:
// the start of each day, then the window's end.
func (s Span) DayBounds() []int64 {
	b := make([]int64, 0, len(s.Days)+1)
	for _, d := range s.Days {
		b = append(b, d.Start(s.Location).UnixNano())
	}
	// The last day ends at the window's end: now, for a period. When now is
	// the very start of today, today's interval is empty, never negative.
	return append(b, s.Current.End.UnixNano())
}

// Bounds is [start, end) of a window in Unix nanoseconds.
func (w Window) Bounds() []int64 { return []int64{w.Start.UnixNano(), w.End.UnixNano()} }
