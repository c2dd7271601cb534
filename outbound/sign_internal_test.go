package outbound

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq/outbound/webhooktest"
)

// A batch's signatures, keyed once, allocate nothing, and are what Sign
// gives and an independent verifier takes, for one secret and for the two
// of a rotation, message after message.
func TestSignatureKeyed(t *testing.T) {
	secrets := []string{
		"whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		"whsec_" + base64.StdEncoding.EncodeToString([]byte("the previous key")),
	}
	var keys sync.Map
	ms := &macs{}
	buf := make([]byte, 0, 256)
	now := time.Now()
	for n := 1; n <= 2; n++ {
		for i, body := range []string{`{"type":"ticket.issued"}`, `{"type":"ticket.called","data":{}}`, ""} {
			id := "msg_1_" + strconv.Itoa(i)
			buf = appendSignature(buf[:0], &keys, ms, secrets[:n], id, now.Unix(), []byte(body))
			if want := Sign(secrets[:n], id, now.Unix(), []byte(body)); string(buf) != want {
				t.Fatalf("keyed %q, Sign %q", buf, want)
			}
			h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Webhook-Signature": {string(buf)}}
			for _, s := range secrets[:n] {
				if err := webhooktest.Verify(s, h, []byte(body), now); err != nil {
					t.Fatalf("%d secrets, message %d: %v", n, i, err)
				}
			}
			if n == 2 && strings.Count(string(buf), "v1,") != 2 {
				t.Fatalf("a rotation's signature %q", buf)
			}
		}
	}
	body := []byte(strings.Repeat("x", 700))
	if a := testing.AllocsPerRun(100, func() {
		buf = appendSignature(buf[:0], &keys, ms, secrets, "msg_1_2", now.Unix(), body)
	}); a != 0 {
		t.Fatalf("%v allocations a signature", a)
	}
}

// BenchmarkSignature signs a 700-byte body as a pipelined window does.
func BenchmarkSignature(b *testing.B) {
	secrets := []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
	var keys sync.Map
	ms := &macs{}
	buf := make([]byte, 0, 256)
	body := []byte(strings.Repeat("x", 700))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendSignature(buf[:0], &keys, ms, secrets, "msg_1_123456", 1700000000, body)
	}
}
