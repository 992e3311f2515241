// Command nextcore-apisim serves synthetic usage over the control-plane API
// (docs/api.md) on loopback, for benchmarks and manual trials of `nextcore usage
// sync` and `--source api`. It prints its URL, then serves until killed.
//
//	nextcore-apisim -records 1000000 -token secret -tenant acme -addr 127.0.0.1:8099
//
// With -provider openai|anthropic it serves that provider's admin usage API
// instead (adminapitest: made-up hourly usage, the key -token), for `nextcore
// usage sync --provider … --provider-url …`.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/adminapi/adminapitest"
	"github.com/nextcore-ai/nextcore/pkg/source/api/apitest"
	"github.com/nextcore-ai/nextcore/pkg/source/synth"
)

func main() {
	records := flag.Int("records", 100000, "about how many records to serve, over a year ending -end")
	tenant := flag.String("tenant", "acme", "tenant slug")
	token := flag.String("token", "secret", "the token the server accepts")
	addr := flag.String("addr", "127.0.0.1:8099", "address to serve on (loopback)")
	end := flag.String("end", time.Now().UTC().Format("2006-01-02"), "the day after the last record (YYYY-MM-DD, UTC)")
	ledger := flag.Bool("ledger", false, "serve records v2 (cache and reasoning tokens, projects, tags, buckets…); v1 records otherwise")
	randomIDs := flag.Bool("random-ids", false, "random ids as providers issue them")
	provider := flag.String("provider", "", "serve a provider's admin usage API instead: openai or anthropic")
	flag.Parse()
	if *provider != "" {
		serveProvider(*provider, *token, *addr)
		return
	}
	e, err := time.Parse("2006-01-02", *end)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nextcore-apisim: -end:", err)
		os.Exit(2)
	}
	perDay := float64(*records) / 365 / 0.6 // growth 2 and quiet weekends average about 0.6 of the end rate
	var all []source.Record
	if err := synth.Generate(synth.Config{Seed: 1, Start: e.AddDate(0, 0, -365), End: e, PerDay: perDay, Growth: 2, Failure: 0.03,
		Ledger: *ledger, RandomIDs: *randomIDs},
		func(r *source.Record) error { all = append(all, *r); return nil }); err != nil {
		fmt.Fprintln(os.Stderr, "nextcore-apisim:", err)
		os.Exit(1)
	}
	srv := apitest.NewUnstarted(*token)
	srv.Add(*tenant, all...)
	srv.SetQuota(*tenant, `{"periodStart": null, "limits": {"apiCalls": 5000000, "tokens": null, "spend": 5000}}`)
	// Listen only once the records are in, so a client never sees a tenant
	// without them.
	if err := srv.Start(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "nextcore-apisim:", err)
		os.Exit(1)
	}
	defer srv.Close()
	fmt.Println(srv.URL)
	fmt.Fprintf(os.Stderr, "nextcore-apisim: %d records for %s at %s\n", len(all), *tenant, srv.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
}

// serveProvider serves a provider's admin usage API until interrupted.
func serveProvider(provider, key, addr string) {
	if provider != "openai" && provider != "anthropic" {
		fmt.Fprintln(os.Stderr, "nextcore-apisim: -provider: openai or anthropic")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nextcore-apisim:", err)
		os.Exit(1)
	}
	url := "http://" + ln.Addr().String()
	fmt.Println(url)
	fmt.Fprintf(os.Stderr, "nextcore-apisim: %s's admin usage API at %s, key %q\n", provider, url, key)
	srv := &http.Server{Handler: &adminapitest.Sim{Provider: provider, Key: key}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "nextcore-apisim:", err)
		os.Exit(1)
	}
}
