package render

import (
	"bytes"
	"html/template"
	"math/big"
	"strings"

	"github.com/nextcore-ai/nextcore/pkg/report"
)

// AlertJSON is one alert as a webhook receives it.
type AlertJSON struct {
	Key       string        `json:"key"` // metric:threshold or metric:forecast
	Metric    string        `json:"metric"`
	Kind      string        `json:"kind"` // threshold or forecast
	Threshold report.Number `json:"threshold"`
	Percent   report.Number `json:"percent"`
	Used      report.Number `json:"used"`
	Limit     report.Number `json:"limit"`
	Projected report.Number `json:"projected"`
	Text      string        `json:"message"`
}

// AlertPayload is what a webhook receives: the tenant, the billing month,
// the new alerts and the month's quota.
type AlertPayload struct {
	Tenant       string      `json:"tenant"`
	BillingMonth string      `json:"billingMonth"`
	Alerts       []AlertJSON `json:"alerts"`
	Quota        QuotaJSON   `json:"quota"`
}

// AlertData is the webhook payload of alerts.
func AlertData(q *report.Quota, alerts []report.Alert) AlertPayload {
	out := AlertPayload{Tenant: q.Tenant, BillingMonth: q.Period.Start.Format("2006-01"), Alerts: []AlertJSON{}, Quota: QuotaData(q)}
	for _, a := range alerts {
		m := a.Metric
		j := AlertJSON{Key: a.Key, Metric: m.Key, Kind: a.Kind, Percent: report.Nearest(m.Percent),
			Used: QuotaAmount(m, new(big.Rat).SetInt64(m.Used)), Limit: QuotaAmount(m, new(big.Rat).SetInt64(*m.Limit)),
			Projected: QuotaAmount(m, m.Projected), Text: a.Text}
		if a.Threshold != nil {
			j.Threshold = report.Nearest(a.Threshold)
		}
		out.Alerts = append(out.Alerts, j)
	}
	return out
}

// AlertSubject is "NextCore alert · acme · Spend passed 80% of the November
// limit: 87.8%": the most severe alert.
func AlertSubject(q *report.Quota, alerts []report.Alert) string {
	return "NextCore alert · " + Safe(q.Tenant) + " · " + report.Headline(alerts).Text
}

// AlertText is the plain-text part of an alert mail: the alerts, then the
// month's quota as a log would show it.
func AlertText(q *report.Quota, alerts []report.Alert) (string, error) {
	var b strings.Builder
	for _, a := range alerts {
		b.WriteString("• " + a.Text + "\n")
	}
	b.WriteString("\n")
	if err := QuotaTable(&b, q, Options{Style: Style{Width: 78}}); err != nil {
		return "", err
	}
	b.WriteString("\n-- \nSent by nextcore usage alert. Each alert is sent once per billing month.\n")
	return b.String(), nil
}

var alertHTML = template.Must(template.New("alert").Parse(`<!DOCTYPE html><html><head><meta charset="utf-8"></head>` +
	`<body style="font-family:Helvetica,Arial,sans-serif;color:#111827">` +
	`<h2 style="font-size:18px;margin:0 0 8px">NextCore budget alert · {{.Tenant}}</h2>` +
	`<ul style="font-size:14px;line-height:1.5;color:#dc2626">{{range .Alerts}}<li>{{.}}</li>{{end}}</ul>` +
	`<pre style="font-size:12px;background:#f3f4f6;padding:10px">{{.Quota}}</pre>` +
	`<p style="font-size:11px;color:#9ca3af">Sent by nextcore usage alert. Each alert is sent once per billing month.</p></body></html>`))

// AlertHTML is the HTML part of an alert mail, names escaped by
// html/template.
func AlertHTML(q *report.Quota, alerts []report.Alert) (string, error) {
	var quota strings.Builder
	if err := QuotaTable(&quota, q, Options{Style: Style{Width: 78}}); err != nil {
		return "", err
	}
	d := struct {
		Tenant, Quota string
		Alerts        []string
	}{Tenant: q.Tenant, Quota: quota.String()}
	for _, a := range alerts {
		d.Alerts = append(d.Alerts, a.Text)
	}
	var b bytes.Buffer
	if err := alertHTML.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}
