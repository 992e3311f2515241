package report

import (
	"strings"
	"testing"
	"time"
)

func oneLine(t *testing.T, err error) {
	t.Helper()
	if err.Error() == "" || strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error is not one line: %q", err)
	}
}

// FuzzWindow: any --period, --from and --to values give a window that
// ends after it starts, with a previous window that ends no later than it
// starts, or a one-line error.
func FuzzWindow(f *testing.F) {
	for _, p := range []string{"today", "week", "MONTH", "year", "", "7d"} {
		f.Add(p, "", "")
	}
	f.Add("", "2026-03-01", "2026-03-31")
	f.Add("", "2026-03-29", "")
	f.Add("", "2026-04-01", "2026-03-01")
	f.Add("", "0001-01-01", "9999-12-31")
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		f.Fatal(err)
	}
	clock := ClockAt(time.Date(2026, 9, 6, 4, 30, 0, 0, time.UTC), santiago)
	f.Fuzz(func(t *testing.T, period, from, to string) {
		var r Range
		if period != "" {
			p, err := ParsePeriod(period)
			if err != nil {
				oneLine(t, err)
				return
			}
			r.Period = p
		}
		for _, d := range []struct {
			s   string
			dst **Date
		}{{from, &r.From}, {to, &r.To}} {
			if d.s == "" {
				continue
			}
			v, err := ParseDate(d.s)
			if err != nil {
				oneLine(t, err)
				return
			}
			*d.dst = &v
		}
		if r.Period == "" && r.From == nil {
			return
		}
		sp, err := Resolve(r, clock)
		if err != nil {
			oneLine(t, err)
			return
		}
		if !sp.Current.End.After(sp.Current.Start) || !sp.Previous.End.After(sp.Previous.Start) ||
			sp.Previous.End.After(sp.Current.Start) || len(sp.Days) == 0 {
			t.Fatalf("%+v: current %v – %v, previous %v – %v, %d days", r, sp.Current.Start, sp.Current.End,
				sp.Previous.Start, sp.Previous.End, len(sp.Days))
		}
	})
}

// FuzzParseAsOf: any --as-of value, in zones with odd offsets and DST, is a
// time or a one-line error; a date means the end of that day.
func FuzzParseAsOf(f *testing.F) {
	for _, s := range []string{"2026-11-25", "2026-03-29", "2026-11-25T13:00:00Z", "2026-11-25T13:00:00+05:45", "2026-02-30", "9999-12-31", "0000-01-01", "2026-11-25T25:00:00Z", "2026-11-25 13:00"} {
		f.Add(s)
	}
	var zones []*time.Location
	for _, name := range []string{"UTC", "Europe/Berlin", "America/Santiago", "Asia/Kathmandu", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			f.Fatal(err)
		}
		zones = append(zones, loc)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range zones {
			c, err := ParseAsOf(s, loc)
			if err != nil {
				oneLine(t, err)
				continue
			}
			if d, derr := ParseDate(s); derr == nil && !c.Now.Equal(ClockEndOf(d, loc).Now) {
				t.Fatalf("--as-of %s in %s: %v, not the end of the day", s, loc, c.Now)
			}
		}
	})
}
