package report

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) *Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return &d
}

// TestResolve checks windows computed by hand from docs/numbers.md, across DST
// changes and in zones with :30 and :45 offsets. All instants are in UTC.
func TestResolve(t *testing.T) {
	cases := []struct {
		name               string
		zone, asOf         string
		r                  Range
		curStart, curEnd   string
		prevStart, prevEnd string
		days               int
		firstDay, lastDay  string
	}{
		{
			name: "week after spring-forward, New York", zone: "America/New_York", asOf: "2026-03-09T12:00:00-04:00",
			r:        Range{Period: Week},
			curStart: "2026-03-03T05:00:00Z", curEnd: "2026-03-09T16:00:00Z",
			// 7 days before Mon 12:00 EDT is Mon Mar 2 12:00 EST.
			prevStart: "2026-02-24T05:00:00Z", prevEnd: "2026-03-02T17:00:00Z",
			days: 7, firstDay: "2026-03-03", lastDay: "2026-03-09",
		},
		{
			name: "spring-forward day is 23 hours, New York", zone: "America/New_York", asOf: "2026-03-08",
			r:        Range{Period: Today},
			curStart: "2026-03-08T05:00:00Z", curEnd: "2026-03-09T04:00:00Z",
			prevStart: "2026-03-07T05:00:00Z", prevEnd: "2026-03-08T05:00:00Z",
			days: 1, firstDay: "2026-03-08", lastDay: "2026-03-08",
		},
		{
			name: "fall-back day is 25 hours, Berlin", zone: "Europe/Berlin", asOf: "2026-10-25",
			r:        Range{Period: Today},
			curStart: "2026-10-24T22:00:00Z", curEnd: "2026-10-25T23:00:00Z",
			prevStart: "2026-10-23T22:00:00Z", prevEnd: "2026-10-24T22:00:00Z",
			days: 1, firstDay: "2026-10-25", lastDay: "2026-10-25",
		},
		{
			name: "custom range, Kolkata", zone: "Asia/Kolkata", asOf: "2026-11-26T10:00:00Z",
			r:        Range{From: date("2026-11-01"), To: date("2026-11-03")},
			curStart: "2026-10-31T18:30:00Z", curEnd: "2026-11-03T18:30:00Z",
			prevStart: "2026-10-28T18:30:00Z", prevEnd: "2026-10-31T18:30:00Z",
			days: 3, firstDay: "2026-11-01", lastDay: "2026-11-03",
		},
		{
			name: "custom range to today by default", zone: "UTC", asOf: "2026-11-26T10:00:00Z",
			r:        Range{From: date("2026-11-20")},
			curStart: "2026-11-20T00:00:00Z", curEnd: "2026-11-27T00:00:00Z",
			prevStart: "2026-11-13T00:00:00Z", prevEnd: "2026-11-20T00:00:00Z",
			days: 7, firstDay: "2026-11-20", lastDay: "2026-11-26",
		},
		{
			name: "month, Kathmandu +05:45", zone: "Asia/Kathmandu", asOf: "2026-11-26T10:00:00+05:45",
			r:        Range{Period: Month},
			curStart: "2026-10-27T18:15:00Z", curEnd: "2026-11-26T04:15:00Z",
			prevStart: "2026-09-27T18:15:00Z", prevEnd: "2026-10-27T04:15:00Z",
			days: 30, firstDay: "2026-10-28", lastDay: "2026-11-26",
		},
		{
			name: "default period is month", zone: "UTC", asOf: "2026-11-26",
			r:        Range{},
			curStart: "2026-10-28T00:00:00Z", curEnd: "2026-11-27T00:00:00Z",
			prevStart: "2026-09-28T00:00:00Z", prevEnd: "2026-10-28T00:00:00Z",
			days: 30, firstDay: "2026-10-28", lastDay: "2026-11-26",
		},
		{
			name: "previous end in the skipped hour, New York", zone: "America/New_York", asOf: "2026-03-09T02:30:00-04:00",
			r:        Range{Period: Today},
			curStart: "2026-03-09T04:00:00Z", curEnd: "2026-03-09T06:30:00Z",
			// Mar 8 02:30 does not exist: read with EST, it is 03:30 EDT.
			prevStart: "2026-03-08T05:00:00Z", prevEnd: "2026-03-08T07:30:00Z",
			days: 1, firstDay: "2026-03-09", lastDay: "2026-03-09",
		},
		{
			name: "previous end in the repeated hour, Berlin", zone: "Europe/Berlin", asOf: "2026-10-26T02:30:00+01:00",
			r:        Range{Period: Today},
			curStart: "2026-10-25T23:00:00Z", curEnd: "2026-10-26T01:30:00Z",
			// Oct 25 02:30 happens twice: the first, in CEST.
			prevStart: "2026-10-24T22:00:00Z", prevEnd: "2026-10-25T00:30:00Z",
			days: 1, firstDay: "2026-10-26", lastDay: "2026-10-26",
		},
		{
			name: "year, Lord Howe half-hour DST", zone: "Australia/Lord_Howe", asOf: "2026-11-26",
			r:        Range{Period: Year},
			curStart: "2025-11-26T13:00:00Z", curEnd: "2026-11-26T13:00:00Z",
			prevStart: "2024-11-26T13:00:00Z", prevEnd: "2025-11-26T13:00:00Z",
			days: 365, firstDay: "2025-11-27", lastDay: "2026-11-26",
		},
		{
			name: "midnight that does not exist, Santiago", zone: "America/Santiago", asOf: "2026-09-06T12:00:00-03:00",
			r: Range{Period: Today},
			// Clocks jump from 00:00 to 01:00 on Sep 6 2026: the day starts at 01:00.
			curStart: "2026-09-06T04:00:00Z", curEnd: "2026-09-06T15:00:00Z",
			prevStart: "2026-09-05T04:00:00Z", prevEnd: "2026-09-05T16:00:00Z",
			days: 1, firstDay: "2026-09-06", lastDay: "2026-09-06",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoc(t, c.zone)
			clock, err := ParseAsOf(c.asOf, loc)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Resolve(c.r, clock)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got time.Time, want string) {
				if !got.Equal(utc(want)) {
					t.Errorf("%s = %s, want %s", what, got.UTC().Format(time.RFC3339Nano), want)
				}
			}
			check("current start", s.Current.Start, c.curStart)
			check("current end", s.Current.End, c.curEnd)
			check("previous start", s.Previous.Start, c.prevStart)
			check("previous end", s.Previous.End, c.prevEnd)
			if len(s.Days) != c.days || s.Days[0].String() != c.firstDay || s.Days[len(s.Days)-1].String() != c.lastDay {
				t.Errorf("days: %d from %s to %s, want %d from %s to %s", len(s.Days), s.Days[0], s.Days[len(s.Days)-1], c.days, c.firstDay, c.lastDay)
			}
			b := s.DayBounds()
			if len(b) != len(s.Days)+1 || b[0] != s.Current.Start.UnixNano() || b[len(b)-1] != s.Current.End.UnixNano() {
				t.Errorf("day bounds do not span the window")
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	clock := ClockAt(utc("2026-11-26T10:00:00Z"), time.UTC)
	cases := []struct {
		name string
		r    Range
	}{
		{"from after to", Range{From: date("2026-11-10"), To: date("2026-11-01")}},
		{"to without from", Range{To: date("2026-11-01")}},
	}
	for _, c := range cases {
		if _, err := Resolve(c.r, clock); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	for _, bad := range []string{"fortnight", "", "weeks"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("period %q accepted", bad)
		}
	}
	for _, bad := range []string{"2026-13-01", "2026-02-30", "26-11-01", "2026-11-26T10:00:00", "yesterday"} {
		if _, err := ParseAsOf(bad, time.UTC); err == nil {
			t.Errorf("--as-of %q accepted", bad)
		}
	}
}

func TestAsOfDateIsEndOfDay(t *testing.T) {
	loc := mustLoc(t, "Asia/Kolkata")
	c, err := ParseAsOf("2026-11-23", loc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Today.String() != "2026-11-23" || !c.Now.Equal(utc("2026-11-23T18:30:00Z")) {
		t.Fatalf("as-of date: today %s, now %s", c.Today, c.Now.UTC())
	}
}
