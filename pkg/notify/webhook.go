package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook posts JSON to a URL and wants a 2xx answer.
type Webhook struct {
	URL       string
	UserAgent string
	// Client sends the request; one with a 30 s timeout when nil.
	Client *http.Client
}

var webhookClient = &http.Client{Timeout: 30 * time.Second}

// Post sends v as JSON.
func (h Webhook) Post(ctx context.Context, v any) error {
	client := h.Client
	if client == nil {
		client = webhookClient
	}
	url, userAgent := h.URL, h.UserAgent
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("bad webhook URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()                                      //nolint:errcheck // drained below; the status says it all
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drained so the connection is reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s answered HTTP %d", req.URL.Redacted(), resp.StatusCode)
	}
	return nil
}
