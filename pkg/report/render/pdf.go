package render

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/nextcore-ai/nextcore/pkg/report"
	"github.com/nextcore-ai/nextcore/pkg/source"
)

// Paper sizes for PDF reports.
const (
	A4     = "A4"
	Letter = "Letter"
)

// PDFOptions shape a PDF report.
type PDFOptions struct {
	Paper     string    // A4 or Letter
	Generated time.Time // the creation date written into the file: the same input gives the same bytes
	Version   string    // nextcore's version, for the producer field
}

type rgb struct{ r, g, b int }

var (
	pdfBlue   = rgb{37, 99, 235}
	pdfGreen  = rgb{22, 163, 74}
	pdfRed    = rgb{220, 38, 38}
	pdfPurple = rgb{147, 51, 234}
	pdfYellow = rgb{202, 138, 4}
	pdfText   = rgb{17, 24, 39}
	pdfMuted  = rgb{107, 114, 128}
	pdfRule   = rgb{209, 213, 219}
	pdfFill   = rgb{243, 244, 246}
	pdfTrack  = rgb{229, 231, 235}
)

// pdfDoc is a report being laid out: the document and its geometry.
type pdfDoc struct {
	*fpdf.Fpdf
	left, right, top, bottom float64 // margins
	pageW, pageH             float64
}

func (d *pdfDoc) width() float64 { return d.pageW - d.left - d.right }

func (d *pdfDoc) text(c rgb)                      { d.SetTextColor(c.r, c.g, c.b) }
func (d *pdfDoc) fill(c rgb)                      { d.SetFillColor(c.r, c.g, c.b) }
func (d *pdfDoc) draw(c rgb)                      { d.SetDrawColor(c.r, c.g, c.b) }
func (d *pdfDoc) font(style string, size float64) { d.SetFont("go", style, size) }

// room is the space left above the bottom margin.
func (d *pdfDoc) room() float64 { return d.pageH - d.bottom - d.GetY() }

// need starts a new page unless h millimetres are left.
func (d *pdfDoc) need(h float64) {
	if d.room() < h {
		d.AddPage()
	}
}

func (d *pdfDoc) heading(title string, keep float64) {
	d.need(keep + 12)
	d.Ln(4)
	d.font("B", 11.5)
	d.text(pdfText)
	d.CellFormat(0, 7, title, "", 1, "L", false, 0, "")
	d.draw(pdfRule)
	d.SetLineWidth(0.3)
	d.Line(d.left, d.GetY(), d.pageW-d.right, d.GetY())
	d.Ln(2)
}

// StatsPDF writes the dashboard as a PDF a finance team would forward: title
// block, metric cards, the daily trend, top models, the cost breakdown, the
// quota and the insights, with page numbers and tables that carry their
// header onto the next page.
func StatsPDF(w io.Writer, s *report.Stats, o Options) error {
	meta, opt := o.Meta, o.PDF
	paper := A4
	if opt.Paper == Letter {
		paper = Letter
	}
	f := fpdf.New("P", "mm", paper, "")
	d := &pdfDoc{Fpdf: f, left: 15, right: 15, top: 15, bottom: 18}
	d.pageW, d.pageH = f.GetPageSize()
	f.SetMargins(d.left, d.top, d.right)
	f.SetAutoPageBreak(true, d.bottom)
	f.SetCompression(true)
	f.SetCreationDate(opt.Generated.UTC())
	f.SetModificationDate(opt.Generated.UTC())
	f.SetProducer("nextcore "+opt.Version, true)
	f.SetCreator("nextcore "+opt.Version, true)
	f.SetTitle("NextCore usage · "+s.Tenant+" · "+s.Span.DateRange(), true)
	f.SetAuthor("nextcore", true)
	f.SetCatalogSort(true)
	f.AddUTF8FontFromBytes("go", "", goregular.TTF)
	f.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		d.SetY(-12)
		d.font("", 7.5)
		d.text(pdfMuted)
		d.CellFormat(d.width()/2, 5, "NextCore usage · "+Safe(s.Tenant)+" · "+s.Span.DateRange(), "", 0, "L", false, 0, "")
		d.CellFormat(d.width()/2, 5, fmt.Sprintf("page %d of {nb}", f.PageNo()), "", 0, "R", false, 0, "")
	})
	f.AddPage()
	pdfTitle(d, s, meta, opt)
	if s.Current.Calls == 0 {
		d.Ln(6)
		d.font("B", 12)
		d.text(pdfText)
		d.CellFormat(0, 8, "No usage in this window.", "", 1, "L", false, 0, "")
		d.font("", 9.5)
		d.text(pdfMuted)
		if s.Previous.Calls > 0 {
			d.MultiCell(0, 5, fmt.Sprintf("The previous period had %s calls costing %s.", report.Count(s.Previous.Calls), report.USD2(s.Previous.Cost)), "", "L", false)
		}
		pdfQuota(d, s.Quota)
		return finish(f, w)
	}
	pdfCards(d, s)
	pdfTrend(d, s)
	pdfTopModels(d, s)
	pdfBreakdown(d, s)
	pdfQuota(d, s.Quota)
	pdfInsights(d, s)
	return finish(f, w)
}

func finish(f *fpdf.Fpdf, w io.Writer) error {
	if err := f.Error(); err != nil {
		return fmt.Errorf("render PDF: %w", err)
	}
	return f.Output(w)
}

func pdfTitle(d *pdfDoc, s *report.Stats, meta Meta, opt PDFOptions) {
	d.font("B", 18)
	d.text(pdfText)
	d.CellFormat(0, 9, "NextCore usage report", "", 1, "L", false, 0, "")
	d.font("B", 12)
	d.text(pdfBlue)
	d.CellFormat(0, 7, Safe(s.Tenant), "", 1, "L", false, 0, "")
	d.font("", 9)
	d.text(pdfMuted)
	source := meta.Source
	if meta.Note != "" {
		source = meta.Note
	}
	rows := [][2]string{
		{"Period", s.Span.Label() + ": " + s.Span.DateRange()},
		{"Window", s.Span.Current.Start.Format("2006-01-02 15:04") + " – " + s.Span.Current.End.Format("2006-01-02 15:04 MST") + ", compared with the same length before"},
		{"Time zone", s.Span.ZoneName()},
		{"Generated", opt.Generated.In(s.Span.Location).Format("2006-01-02 15:04 MST")},
		{"Data source", source},
	}
	for _, r := range rows {
		d.font("B", 8.5)
		d.CellFormat(24, 4.6, r[0], "", 0, "L", false, 0, "")
		d.font("", 8.5)
		d.CellFormat(0, 4.6, r[1], "", 1, "L", false, 0, "")
	}
	d.Ln(3)
}

// pdfChange is a change as text and the color it reads in.
func pdfChange(c report.Number, riseIsGood bool) (string, rgb) {
	if c.Null() {
		return "new (no previous data)", pdfMuted
	}
	text := strings.TrimLeft(report.ChangeText(c), "+-")
	switch c.Rat().Sign() {
	case 1:
		if riseIsGood {
			return "▲ " + text, pdfGreen
		}
		return "▲ " + text, pdfRed
	case -1:
		if riseIsGood {
			return "▼ " + text, pdfRed
		}
		return "▼ " + text, pdfGreen
	}
	return "= " + text, pdfMuted
}

func pdfCards(d *pdfDoc, s *report.Stats) {
	cur, prev := s.Current, s.Previous
	type card struct {
		label, value string
		change       string
		color        rgb
		details      []string
	}
	ch1, c1 := pdfChange(report.Change(cur.Calls, prev.Calls), true)
	ch2, c2 := pdfChange(report.Change(cur.Tokens(), prev.Tokens()), true)
	ch3, c3 := pdfChange(report.Change(int64(cur.Cost), int64(prev.Cost)), false)
	rate, prevRate := report.SuccessRate(cur), report.SuccessRate(prev)
	ch4, c4 := "no previous data", pdfMuted
	if prevRate != nil {
		pts := report.Fixed(new(big.Rat).Sub(rate, prevRate), 1)
		switch pts.Rat().Sign() {
		case 1:
			ch4, c4 = "▲ "+pts.String()+" pt", pdfGreen
		case -1:
			ch4, c4 = "▼ "+strings.TrimPrefix(pts.String(), "-")+" pt", pdfRed
		default:
			ch4 = "= 0.0 pt"
		}
	}
	cards := []card{
		{"API CALLS", report.Count(cur.Calls), ch1, c1, []string{report.Count(cur.Successful) + " successful", report.Count(cur.Failed()) + " failed"}},
		{"TOKENS", report.Compact(cur.Tokens()), ch2, c2, append([]string{"↑ " + report.Compact(cur.Prompt) + " prompt", "↓ " + report.Compact(cur.Completion) + " completion"}, mixLines(cur)...)},
		{"TOTAL COST", report.USD2(cur.Cost), ch3, c3, []string{report.USDPerCall(report.AverageCost(cur)) + " per call"}},
		{"SUCCESS RATE", report.Pct(rate), ch4, c4, []string{report.Count(cur.Failed()) + " of " + report.Count(cur.Calls) + " calls failed"}},
	}
	gap := 4.0
	w := (d.width() - 3*gap) / 4
	h := 30.0
	for _, c := range cards {
		h = max(h, 30+3.8*float64(len(c.details)-2))
	}
	d.need(h + 4)
	y := d.GetY()
	for i, c := range cards {
		x := d.left + float64(i)*(w+gap)
		d.fill(pdfFill)
		d.draw(pdfRule)
		d.SetLineWidth(0.2)
		d.Rect(x, y, w, h, "FD")
		d.SetXY(x+3, y+2.5)
		d.font("B", 7)
		d.text(pdfMuted)
		d.CellFormat(w-6, 4, c.label, "", 2, "L", false, 0, "")
		d.font("B", 14)
		d.text(pdfBlue)
		if i == 3 {
			d.text(pdfGreen)
		}
		d.CellFormat(w-6, 7, c.value, "", 2, "L", false, 0, "")
		d.font("B", 8)
		d.text(c.color)
		d.CellFormat(w-6, 4.5, c.change, "", 2, "L", false, 0, "")
		d.font("", 7)
		d.text(pdfMuted)
		for _, l := range c.details {
			d.CellFormat(w-6, 3.8, l, "", 2, "L", false, 0, "")
		}
	}
	d.SetXY(d.left, y+h+2)
}

// niceStep is a round step for about four grid lines up to v: 1, 2 or 5
// times a power of ten.
func niceStep(v float64) float64 {
	raw := math.Max(v/4, 1)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func pdfTrend(d *pdfDoc, s *report.Stats) {
	chartH := 52.0
	d.heading("Daily usage", chartH+12)
	maxCalls := int64(0)
	for _, day := range s.Daily {
		maxCalls = max(maxCalls, day.Calls)
	}
	step := niceStep(float64(maxCalls))
	top := math.Max(math.Ceil(float64(maxCalls)/step), 1) * step
	axisW := 14.0
	x0, y0 := d.left+axisW, d.GetY()+2
	w := d.width() - axisW
	base := y0 + chartH
	// Grid lines and the y axis labels.
	d.SetLineWidth(0.15)
	d.font("", 6.5)
	d.text(pdfMuted)
	for v := 0.0; v <= top+step/2; v += step {
		y := base - v/top*chartH
		d.draw(pdfTrack)
		d.Line(x0, y, x0+w, y)
		d.SetXY(d.left, y-2)
		d.CellFormat(axisW-1.5, 4, report.Count(int64(v)), "", 0, "R", false, 0, "")
	}
	// Bars.
	n := len(s.Daily)
	slot := w / float64(n)
	barW := slot * 0.72
	peak, _ := s.PeakDay()
	for i, day := range s.Daily {
		if day.Calls == 0 {
			continue
		}
		h := float64(day.Calls) / top * chartH
		c := pdfBlue
		if day.Date == peak.Date {
			c = pdfPurple
		}
		d.fill(c)
		d.Rect(x0+float64(i)*slot+(slot-barW)/2, base-h, barW, h, "F")
	}
	// The axes.
	d.draw(pdfMuted)
	d.SetLineWidth(0.3)
	d.Line(x0, y0, x0, base)
	d.Line(x0, base, x0+w, base)
	// x labels: at most about ten, spread evenly.
	every := max(1, int(math.Ceil(float64(n)/10)))
	layout := "Jan 2"
	for i := 0; i < n; i += every {
		d.SetXY(x0+float64(i)*slot+slot/2-10, base+1)
		d.CellFormat(20, 4, s.Daily[i].Date.Format(layout), "", 0, "C", false, 0, "")
	}
	// Axis titles.
	d.SetXY(d.left, y0-5)
	d.font("B", 7)
	d.CellFormat(40, 4, "calls per day", "", 0, "L", false, 0, "")
	d.SetXY(x0, base+5.5)
	d.font("", 7)
	note := "day (" + s.Span.ZoneName() + ")"
	if ok := maxCalls > 0; ok {
		note += fmt.Sprintf(" · peak %s: %s calls, %s", peak.Date.Format("Mon Jan 2"), report.Count(peak.Calls), report.USD2(peak.Cost))
	}
	d.CellFormat(w, 4, note, "", 1, "C", false, 0, "")
	d.SetXY(d.left, base+11)
}

// pdfTable draws a table; a row that does not fit goes to the next page
// under the header again.
func pdfTable(d *pdfDoc, headers []string, widths []float64, aligns []string, rows [][]string, bold map[int]bool) {
	rowH := 5.6
	drawHeader := func() {
		d.font("B", 7.5)
		d.text(pdfMuted)
		d.fill(pdfFill)
		for i, h := range headers {
			d.CellFormat(widths[i], rowH, h, "B", 0, aligns[i], true, 0, "")
		}
		d.Ln(rowH)
	}
	drawHeader()
	for r, row := range rows {
		if d.room() < rowH {
			d.AddPage()
			drawHeader()
		}
		style := ""
		if bold[r] {
			style = "B"
		}
		d.font(style, 8)
		d.text(pdfText)
		for i, cell := range row {
			d.CellFormat(widths[i], rowH, fit(d, Safe(cell), widths[i]-1.5), "", 0, aligns[i], false, 0, "")
		}
		d.Ln(rowH)
	}
}

// fit cuts text to the width with an ellipsis.
func fit(d *pdfDoc, text string, w float64) string {
	if d.GetStringWidth(text) <= w {
		return text
	}
	r := []rune(text)
	for len(r) > 1 && d.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func pdfTopModels(d *pdfDoc, s *report.Stats) {
	d.heading("Top models", 25)
	cur := s.Current
	var rows [][]string
	for _, g := range s.TopModels() {
		rows = append(rows, []string{g.Name, report.Count(g.Calls), report.Pct(report.Percent(g.Calls, cur.Calls)),
			report.Count(g.Tokens()), report.Pct(report.Percent(g.Tokens(), cur.Tokens())), report.USD2(g.Cost)})
	}
	W := d.width()
	pdfTable(d, []string{"model", "calls", "% calls", "tokens", "% tokens", "cost"},
		[]float64{W - 5*24, 24, 24, 24, 24, 24}, []string{"L", "R", "R", "R", "R", "R"}, rows, nil)
}

func pdfBreakdown(d *pdfDoc, s *report.Stats) {
	d.heading("Cost breakdown", 25)
	cur := s.Current
	W := d.width()
	nameW, costW, shareW, callsW := 52.0, 24.0, 16.0, 22.0
	barW := W - nameW - costW - shareW - callsW - 4
	rowH := 5.6
	header := func() {
		d.font("B", 7.5)
		d.text(pdfMuted)
		d.fill(pdfFill)
		d.CellFormat(nameW, rowH, "model", "B", 0, "L", true, 0, "")
		d.CellFormat(costW, rowH, "cost", "B", 0, "R", true, 0, "")
		d.CellFormat(barW+4, rowH, "", "B", 0, "L", true, 0, "")
		d.CellFormat(shareW, rowH, "share", "B", 0, "R", true, 0, "")
		d.CellFormat(callsW, rowH, "calls", "B", 1, "R", true, 0, "")
	}
	header()
	maxCost := 1.0
	if len(s.Models) > 0 {
		maxCost = max(s.Models[0].Cost.Float(), 1e-12)
	}
	for _, g := range s.Models {
		if d.room() < rowH {
			d.AddPage()
			header()
		}
		y := d.GetY()
		d.font("", 8)
		d.text(pdfText)
		d.CellFormat(nameW, rowH, fit(d, Safe(g.Name), nameW-1.5), "", 0, "L", false, 0, "")
		d.CellFormat(costW, rowH, report.USD2(g.Cost), "", 0, "R", false, 0, "")
		x := d.GetX() + 2
		d.fill(pdfTrack)
		d.Rect(x, y+1.4, barW, rowH-2.8, "F")
		if bw := g.Cost.Float() / maxCost * barW; bw > 0 {
			d.fill(pdfPurple)
			d.Rect(x, y+1.4, max(bw, 0.3), rowH-2.8, "F")
		}
		d.SetX(x + barW + 2)
		d.CellFormat(shareW, rowH, report.PctWhole(report.Percent(int64(g.Cost), int64(cur.Cost))), "", 0, "R", false, 0, "")
		d.CellFormat(callsW, rowH, report.Count(g.Calls), "", 1, "R", false, 0, "")
	}
	d.need(rowH)
	d.font("B", 8.5)
	d.draw(pdfRule)
	d.CellFormat(nameW, rowH+0.5, "total spend", "T", 0, "L", false, 0, "")
	d.CellFormat(costW, rowH+0.5, report.USD2(cur.Cost), "T", 0, "R", false, 0, "")
	d.CellFormat(barW+4+shareW, rowH+0.5, "", "T", 0, "L", false, 0, "")
	d.CellFormat(callsW, rowH+0.5, report.Count(cur.Calls), "T", 1, "R", false, 0, "")
}

func pdfQuota(d *pdfDoc, q *report.Quota) {
	d.heading("Quota this billing month", 28)
	d.font("", 8.5)
	d.text(pdfMuted)
	if q == nil {
		d.MultiCell(0, 4.5, "No monthly limits are set for this tenant (set them in the config file, with usage quota's flags, or let sync fetch them from the API).", "", "L", false)
		return
	}
	d.CellFormat(0, 5, fmt.Sprintf("%s · %d of %d days elapsed · forecast at the month's run-rate so far",
		q.Period.Start.Format("January 2006"), q.DaysElapsed(), q.DaysInMonth), "", 1, "L", false, 0, "")
	d.Ln(1)
	lastDay := report.DateOf(q.Period.End.Add(-1)).Format("Jan 2")
	labelW, barW := 24.0, 60.0
	for _, m := range q.Metrics {
		d.need(8)
		y := d.GetY()
		d.font("B", 8.5)
		d.text(pdfText)
		d.CellFormat(labelW, 6, m.Label, "", 0, "L", false, 0, "")
		x := d.GetX()
		d.fill(pdfTrack)
		d.Rect(x, y+1.5, barW, 3, "F")
		d.font("", 8.5)
		var text string
		if m.Limit == nil {
			text = quotaValue(m, m.Used) + " used · no limit · → " + quotaRat(m, m.Projected) + " by " + lastDay
		} else {
			pct := report.RatFloat(m.Percent)
			d.fill(quotaRGB(pct))
			d.Rect(x, y+1.5, math.Max(0.3, math.Min(pct, 100)/100*barW), 3, "F")
			text = fmt.Sprintf("%s of %s (%s) · → %s by %s", quotaValue(m, m.Used), quotaValue(m, *m.Limit), report.Pct(m.Percent), quotaRat(m, m.Projected), lastDay)
			switch {
			case m.Level == report.LevelExceeded:
				text += " · limit exceeded"
			case m.ProjectedLevel == report.LevelExceeded && !m.ReachedAt.IsZero():
				text += " · over by " + m.ReachedAt.Format("Jan 2")
			case m.Level == report.LevelWarning:
				text += " · warning"
			}
		}
		d.SetX(x + barW + 3)
		d.text(pdfText)
		d.CellFormat(0, 6, text, "", 1, "L", false, 0, "")
	}
	var warn []string
	for _, m := range q.Metrics {
		if m.Limit != nil && m.Level.AtLeast(report.LevelWarning) {
			warn = append(warn, m.Noun()+" at "+report.Pct(m.Percent))
		}
	}
	if len(warn) > 0 {
		d.Ln(1)
		d.font("B", 8.5)
		d.text(pdfYellow)
		d.MultiCell(0, 4.5, "Approaching your monthly limits: "+strings.Join(warn, ", ")+".", "", "L", false)
	}
}

func pdfInsights(d *pdfDoc, s *report.Stats) {
	if len(s.Insights) == 0 {
		return
	}
	d.heading("Insights", 12)
	for _, in := range s.Insights {
		d.need(6)
		d.font("B", 9)
		d.text(toneRGB(in.Tone))
		d.CellFormat(5, 4.8, "•", "", 0, "L", false, 0, "")
		d.font("", 8.8)
		d.text(pdfText)
		d.MultiCell(0, 4.8, Safe(in.Text), "", "L", false)
		d.Ln(0.8)
	}
}

// toneRGB is the color of an insight's tone.
func toneRGB(t report.Tone) rgb {
	switch t {
	case report.Good:
		return pdfGreen
	case report.Bad:
		return pdfRed
	case report.Warn:
		return pdfYellow
	}
	return pdfBlue
}

// quotaRGB is the color of a quota bar: blue below 75 %, purple from 75 %,
// red from 90 %.
func quotaRGB(pct float64) rgb {
	switch {
	case pct >= 90:
		return pdfRed
	case pct >= 75:
		return pdfPurple
	}
	return pdfBlue
}

// mixLines is the token mix as a card's extra lines, one a part.
func mixLines(t source.Totals) []string {
	if m := tokenMix(t); m != "" {
		return strings.Split(m, ", ")
	}
	return nil
}
