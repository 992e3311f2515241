package report

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// plantedSeries is 16 weeks of a tenant's calls to 2026-11-29 in New York
// (weekdays 400 calls, weekends 120, growing 6 % a week, ± 8 % noise;
// keys k1–k4 40/30/20/10 %, models small $0.001 and mid $0.01 a call
// 70/30 %), with plant changing a day's calls.
func plantedSeries(t *testing.T, plant func(d Date, key, model *string, calls *int)) []source.Record {
	ny := mustLoc(t, "America/New_York")
	rng := rand.New(rand.NewPCG(11, 12))
	var recs []source.Record
	first := Date{2026, 8, 10}
	for day := range 16 * 7 {
		d := first.AddDays(day)
		base := 400.0
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			base = 120
		}
		n := int(math.Round(base * math.Pow(1.06, float64(day)/7) * (0.92 + 0.16*rng.Float64())))
		for i := range n {
			key := []string{"k1", "k1", "k1", "k1", "k2", "k2", "k2", "k3", "k3", "k4"}[i%10]
			model := "small"
			if i%10 >= 7 {
				model = "mid"
			}
			calls := 1
			plant(d, &key, &model, &calls)
			for c := range calls {
				cost := map[string]string{"small": "0.001", "mid": "0.01", "big": "0.05"}[model]
				at := d.Start(ny).Add(time.Duration(rng.Int64N(int64(23 * time.Hour))))
				r := rec(fmt.Sprintf("%s-%d-%d", d, i, c), at.UTC().Format(time.RFC3339Nano), model, true, 100, 50, cost)
				r.APIKey = key
				recs = append(recs, r)
			}
		}
	}
	return recs
}

// TestAnomaliesPlanted: a key that suddenly spends 5×, a model switched to
// a pricier one, a Saturday that looks like a weekday are found, each with
// its driver; steady growth with noise is not an anomaly.
func TestAnomaliesPlanted(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	recs := plantedSeries(t, func(d Date, key, model *string, calls *int) {
		switch d {
		case Date{2026, 11, 11}: // Wednesday: k3 spends 5×
			if *key == "k3" {
				*calls = 5
			}
		case Date{2026, 11, 19}: // Thursday: mid's calls go to big (5× the price)
			if *model == "mid" {
				*model = "big"
			}
		}
	})
	// Saturday Nov 21 as a weekday: 400 calls, not 120.
	extra := plantedSeries(t, func(Date, *string, *string, *int) {})
	for _, r := range extra {
		if DateOf(time.Unix(0, r.Time).In(ny)) == (Date{2026, 11, 18}) {
			r.ID += "-sat"
			r.Time += int64(3 * 24 * time.Hour)
			recs = append(recs, r)
		}
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock := ClockEndOf(Date{2026, 11, 29}, ny)
	span, err := Resolve(Range{From: &Date{2026, 11, 2}}, clock)
	if err != nil {
		t.Fatal(err)
	}
	r, err := BuildAnomalies(context.Background(), src, "t", clock, span, AnomalyOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[Date][]Anomaly{}
	for _, a := range r.Anomalies {
		found[a.Date] = append(found[a.Date], a)
	}
	for d, as := range found {
		if d != (Date{2026, 11, 11}) && d != (Date{2026, 11, 19}) && d != (Date{2026, 11, 21}) {
			for _, a := range as {
				t.Errorf("false alarm: %s %s %d (expected %d, %d–%d)", d, a.Metric, a.Actual, a.Expected, a.Low, a.High)
			}
		}
	}
	has := func(d Date, metric string, dim source.Dim, name string, isNew bool) {
		t.Helper()
		for _, a := range found[d] {
			if a.Metric != metric {
				continue
			}
			if a.Excess <= 0 || a.Actual <= a.High || a.ID == "" {
				t.Errorf("%s %s: %+v", d, metric, a)
			}
			for _, dr := range a.Drivers {
				if dr.Dim == dim && dr.Name == name && dr.New == isNew {
					return
				}
			}
			t.Errorf("%s %s: drivers %+v, want %s %s", d, metric, a.Drivers, DimName(dim), name)
			return
		}
		t.Errorf("%s: no %s anomaly (found %+v)", d, metric, found[d])
	}
	has(Date{2026, 11, 11}, MetricCost, source.DimKey, "k3", false)
	has(Date{2026, 11, 11}, MetricCalls, source.DimKey, "k3", false)
	has(Date{2026, 11, 19}, MetricCost, source.DimModel, "big", true)
	has(Date{2026, 11, 21}, MetricCalls, source.DimKey, "k1", false)
	if len(found[Date{2026, 11, 19}]) != 1 {
		t.Errorf("Nov 19: the calls did not change: %+v", found[Date{2026, 11, 19}])
	}
	// Ranked by excess, then time.
	for i := 1; i < len(r.Anomalies); i++ {
		if r.Anomalies[i].Metric == r.Anomalies[i-1].Metric && r.Anomalies[i].Excess > r.Anomalies[i-1].Excess {
			t.Errorf("not by excess: %d after %d", r.Anomalies[i].Excess, r.Anomalies[i-1].Excess)
		}
	}
	if r.Short != 0 || r.Intervals != 28 {
		t.Errorf("judged %d days, %d short", r.Intervals, r.Short)
	}

	// The steady series alone, judged by the hour too: no alarm.
	steady := plantedSeries(t, func(Date, *string, *string, *int) {})
	src = &source.Memory{Records: map[string][]source.Record{"t": steady}}
	for _, o := range []AnomalyOptions{{}, {Dims: []source.Dim{source.DimKey, source.DimModel}}} {
		r, err = BuildAnomalies(context.Background(), src, "t", clock, span, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.Anomalies {
			t.Errorf("steady series (%v): %s %s %s %q %d (expected %d, %d–%d)", o.Dims, a.Date, a.Metric, DimName(a.Dim), a.Group, a.Actual, a.Expected, a.Low, a.High)
		}
	}
}

// TestAnomaliesNeedHistory: days with fewer than 4 weeks of records before
// them are not judged, and the report says from when they can be.
func TestAnomaliesNeedHistory(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	all := plantedSeries(t, func(Date, *string, *string, *int) {})
	var recs []source.Record
	for _, r := range all {
		if !DateOf(time.Unix(0, r.Time).In(ny)).Before(Date{2026, 10, 20}) {
			recs = append(recs, r)
		}
	}
	src := &source.Memory{Records: map[string][]source.Record{"t": recs}}
	clock := ClockEndOf(Date{2026, 11, 29}, ny)
	span, _ := Resolve(Range{From: &Date{2026, 11, 2}}, clock)
	r, err := BuildAnomalies(context.Background(), src, "t", clock, span, AnomalyOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Records from Oct 20: 4 samples from Nov 17 on.
	if r.NeedsFrom != (Date{2026, 11, 17}) || r.Short != 15 || r.Intervals != 13 {
		t.Errorf("needs from %s, %d short, %d judged", r.NeedsFrom, r.Short, r.Intervals)
	}
	for _, a := range r.Anomalies {
		if a.Date.Before(Date{2026, 11, 17}) {
			t.Errorf("judged on too little history: %+v", a)
		}
	}
}

func TestExpectedRange(t *testing.T) {
	cases := []struct {
		xs          []int64
		exp, lo, hi int64
		counts      bool
		floor       int64
	}{
		{[]int64{100, 100, 100, 100}, 100, 75, 125, false, 0},       // flat: a quarter either side
		{[]int64{110, 100, 90, 80}, 120, 90, 150, false, 0},         // growing 10 a week: 120 next
		{[]int64{100, 100, 1000, 100, 100}, 100, 75, 125, false, 0}, // one past spike does not move it
		{[]int64{0, 0, 0, 0}, 0, 0, 10, true, 10},                   // nothing yet: the floor
		{[]int64{400, 400, 400, 400}, 400, 300, 500, true, 10},      // 4√400 = 80 < a quarter
		{[]int64{16, 16, 16, 16}, 16, 0, 32, true, 10},              // 4√16 = 16 > a quarter, floor
	}
	for _, c := range cases {
		exp, lo, hi := expectedRange(c.xs, c.floor, c.counts)
		if exp != c.exp || lo != c.lo || hi != c.hi {
			t.Errorf("%v: %d (%d–%d), want %d (%d–%d)", c.xs, exp, lo, hi, c.exp, c.lo, c.hi)
		}
	}
}

func TestApportion(t *testing.T) {
	cases := []struct {
		total   int64
		weights [5]int64
		want    [5]int64
	}{
		{10, [5]int64{1, 1, 1, 0, 0}, [5]int64{4, 3, 3, 0, 0}},
		{-10, [5]int64{1, 1, 1, 0, 0}, [5]int64{-3, -3, -4, 0, 0}}, // a credit: floors, then the rest
		{7, [5]int64{0, 0, 0, 0, 5}, [5]int64{0, 0, 0, 0, 7}},
		{1_000_000_007, [5]int64{3, 0, 0, 0, 1}, [5]int64{750_000_005, 0, 0, 0, 250_000_002}}, // remainders 1 and 3 (of 4)
	}
	for _, c := range cases {
		var sum int64
		for _, w := range c.weights {
			sum += w
		}
		got := apportion(c.total, c.weights, sum)
		if got != c.want {
			t.Errorf("%d by %v: %v, want %v", c.total, c.weights, got, c.want)
		}
	}
}
