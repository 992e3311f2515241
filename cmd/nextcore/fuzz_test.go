package main

import (
	"strings"
	"testing"
)

// FuzzConfig: no config file makes the loader panic or hang, and every
// rejection is one line naming the file.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("tenant: acme\napi_url: https://api.nextcore.example\ntimezone: Europe/Berlin\nlimits:\n  spend: \"500\"\nsmtp:\n  url: smtp://u:p@mail:587\n  to: [a@b.example]\nalerts:\n  thresholds: [50, 80, 100]\n"))
	f.Add([]byte("tenant: [1, 2]\n"))
	f.Add([]byte("unknown: 1\ntenant: x\nother: 2\n"))
	f.Add([]byte("&a [*a, *a]\n"))
	f.Add([]byte("tenant: \"\\u202eevil\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseConfig(data, "config.yaml")
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "config config.yaml: ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line naming the file: %q", msg)
			}
		}
	})
}
