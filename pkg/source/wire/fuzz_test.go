package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nextcore-ai/nextcore/pkg/source"
)

// FuzzDecodePage: no API answer makes the page decoder panic or hang, every
// rejection is one line, and a page it accepts, written back, decodes to
// the same records and next link.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"next":null,"previous":null,"results":[]}`))
	f.Add([]byte(`{"next":"https://api.example/x?cursor=2","results":[{"id":"r1","timestamp":"2026-11-20T13:45:12.345Z","model":"gpt-4o","apiKey":"k","status":"success","promptTokens":1,"completionTokens":2,"cost":0.001,"extra":{"a":[1,2,{"b":null}]}}],"count":1}`))
	f.Add([]byte(`{"results":[{"id":"r1"}]}`))
	f.Add([]byte(`<html>502 Bad Gateway</html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var recs []source.Record
		next, err := DecodePage(body, func(r *source.Record) error {
			recs = append(recs, *r)
			return nil
		})
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") || err.Error() == "" {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		var again []source.Record
		next2, err := DecodePage(AppendPage(nil, next, recs), func(r *source.Record) error {
			again = append(again, *r)
			return nil
		})
		if err != nil || next2 != next || !reflect.DeepEqual(again, recs) {
			t.Fatalf("page written back: %v, next %q vs %q, records equal %v", err, next2, next, reflect.DeepEqual(again, recs))
		}
	})
}
