package api

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

// The answer a refused connection reads is a whole HTTP response: its
// Content-Length is the body's (it once said 48 for 47 bytes).
func TestRefusalIsWhole(t *testing.T) {
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(refusal)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || int64(len(body)) != res.ContentLength {
		t.Fatalf("refusal: %d, Retry-After %q, %d bytes of %d", res.StatusCode, res.Header.Get("Retry-After"), len(body), res.ContentLength)
	}
}
