package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq/webpush/pushtest"
)

// RFC 8291 Appendix A: the example's keys, salt, plaintext and message.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcASPublic  = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcMessage   = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncryptRFC8291: with the example's sender key and salt, Encrypt's
// message is the RFC's, byte for byte.
func TestEncryptRFC8291(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(unb64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(as.PublicKey().Bytes()); got != rfcASPublic {
		t.Fatalf("the sender's public key %s, the RFC says %s", got, rfcASPublic)
	}
	ua, err := ecdh.P256().NewPublicKey(unb64(t, rfcUAPublic))
	if err != nil {
		t.Fatal(err)
	}
	got, err := encrypt([]byte(rfcPlaintext), ua, unb64(t, rfcAuth), as, unb64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	if s := base64.RawURLEncoding.EncodeToString(got); s != rfcMessage {
		t.Errorf("message\n%s\nthe RFC's\n%s", s, rfcMessage)
	}
}

// TestDecryptRFC8291: the test's own decryption (package pushtest) reads the
// RFC's message, so that it can be trusted to read Encrypt's.
func TestDecryptRFC8291(t *testing.T) {
	ua, err := ecdh.P256().NewPrivateKey(unb64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pushtest.Decrypt(unb64(t, rfcMessage), ua, unb64(t, rfcAuth))
	if err != nil || string(plain) != rfcPlaintext {
		t.Fatalf("decrypt: %q, %v", plain, err)
	}
	bad := unb64(t, rfcMessage)
	bad[len(bad)-1] ^= 1
	if _, err := pushtest.Decrypt(bad, ua, unb64(t, rfcAuth)); err == nil {
		t.Error("a message with a byte changed decrypted")
	}
}

// TestEncryptRoundTrip: messages of every size up to MaxPayload, each with a
// new key and salt, are read back by the independent decryption; one byte
// more is refused.
func TestEncryptRoundTrip(t *testing.T) {
	b := pushtest.NewBrowser()
	for _, n := range []int{0, 1, 15, 16, 17, 1000, MaxPayload} {
		plain := bytes.Repeat([]byte{'x'}, n)
		msg, err := Encrypt(plain, b.Private.PublicKey(), b.Auth)
		if err != nil {
			t.Fatal(n, err)
		}
		if len(msg) != headerSize+n+17 || len(msg) > 4096 {
			t.Errorf("%d bytes: a message of %d", n, len(msg))
		}
		got, err := b.Decrypt(msg)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: %v", n, err)
		}
		again, _ := Encrypt(plain, b.Private.PublicKey(), b.Auth)
		if bytes.Equal(again[:16], msg[:16]) || bytes.Equal(again[21:86], msg[21:86]) {
			t.Error("two messages share a salt or a sender key")
		}
	}
	if _, err := Encrypt(make([]byte, MaxPayload+1), b.Private.PublicKey(), b.Auth); err != ErrTooLong {
		t.Errorf("MaxPayload+1: %v", err)
	}
}

func newVAPID(t *testing.T, subject string) *VAPID {
	t.Helper()
	v, err := NewVAPID(unb64(t, rfcASPrivate), subject)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVAPID: the header is "vapid t=…, k=…", its token an ES256 JWT that
// the independent check verifies with k, for the endpoint's origin, 12
// hours long; used again while an hour is left, then made anew.
func TestVAPID(t *testing.T) {
	v := newVAPID(t, "mailto:hall@example.org")
	if v.PublicKey() != rfcASPublic {
		t.Fatalf("public key %s", v.PublicKey())
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	h, err := v.Authorization("https://push.example.net:8443/wpush/v2/abc?x=1", now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pushtest.CheckVAPID(h, "https://push.example.net:8443", now)
	if err != nil {
		t.Fatalf("%s: %v", h, err)
	}
	if tok.Key != rfcASPublic || tok.Subject != "mailto:hall@example.org" || !tok.Expires.Equal(now.Add(12*time.Hour)) {
		t.Errorf("token %+v", tok)
	}
	if !strings.HasPrefix(h, "vapid t=") || !strings.HasSuffix(h, ", k="+rfcASPublic) {
		t.Errorf("header %s", h)
	}
	if again, _ := v.Authorization("https://push.example.net:8443/other", now.Add(10*time.Hour)); again != h {
		t.Error("a token with two hours left was not used again")
	}
	later, _ := v.Authorization("https://push.example.net:8443/other", now.Add(11*time.Hour+time.Second))
	if later == h {
		t.Error("a token with less than an hour left was used again")
	}
	if _, err := pushtest.CheckVAPID(later, "https://push.example.net:8443", now.Add(11*time.Hour+time.Second)); err != nil {
		t.Error(err)
	}
	other, _ := v.Authorization("https://fcm.example.com/send/x", now)
	if _, err := pushtest.CheckVAPID(other, "https://fcm.example.com", now); err != nil {
		t.Error("another push service's token:", err)
	}
	if _, err := pushtest.CheckVAPID(other, "https://push.example.net:8443", now); err == nil {
		t.Error("a token for one push service passed for another")
	}
	for _, bad := range [][]byte{nil, make([]byte, 32), bytes.Repeat([]byte{0xff}, 32), make([]byte, 31)} {
		if _, err := NewVAPID(bad, ""); err == nil {
			t.Errorf("key %x accepted", bad)
		}
	}
}

func TestParseSubscription(t *testing.T) {
	b := pushtest.NewBrowser()
	ok := string(b.JSON("https://push.example.net/wpush/v2/gAAAA"))
	s, err := ParseSubscription([]byte(ok))
	if err != nil || s.Endpoint != "https://push.example.net/wpush/v2/gAAAA" || s.Keys.Auth != b.AuthKey() {
		t.Fatalf("%+v, %v", s, err)
	}
	key := b.P256dh()
	for name, j := range map[string]string{
		"not json":        `{`,
		"two values":      ok + ok,
		"http":            strings.Replace(ok, "https:", "http:", 1),
		"no endpoint":     `{"keys":{"p256dh":"` + key + `","auth":"` + b.AuthKey() + `"}}`,
		"relative":        strings.Replace(ok, "https://push.example.net", "", 1),
		"user in url":     strings.Replace(ok, "https://", "https://u:p@", 1),
		"space":           strings.Replace(ok, "gAAAA", "g AAAA", 1),
		"short auth":      strings.Replace(ok, b.AuthKey(), "AAAA", 1),
		"key off curve":   strings.Replace(ok, key, "B"+strings.Repeat("A", 86), 1),
		"compressed key":  strings.Replace(ok, key, key[:44], 1),
		"key not base64":  strings.Replace(ok, key, "!"+key[1:], 1),
		"endpoint 2049":   strings.Replace(ok, "gAAAA", strings.Repeat("a", 2049), 1),
		"javascript":      strings.Replace(ok, "https://push.example.net", "javascript:alert(1)//", 1),
		"file":            strings.Replace(ok, "https://push.example.net", "file://", 1),
		"fragment":        strings.Replace(ok, "gAAAA", "gAAAA#x", 1),
		"keys not object": `{"endpoint":"https://push.example.net/x","keys":"x"}`,
	} {
		if _, err := ParseSubscription([]byte(j)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSend: through the stand-in push service, a message arrives with its
// headers and token and decrypts to what was sent; 410 and 404 are Gone; a
// refusal's answer is kept.
func TestSend(t *testing.T) {
	svc := pushtest.NewService()
	defer svc.Close()
	_, sub := svc.Subscribe("/push/one")
	s, err := ParseSubscription(sub)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{VAPID: newVAPID(t, "https://hall.example.org"), HTTP: svc.Client(), UserAgent: "civiq/test"}
	r, err := c.Send(context.Background(), s, Message{Payload: []byte(`{"title":"请到3号窗口"}`), TTL: 90 * time.Second, Urgency: High, Topic: "t42"})
	if err != nil || r.Status != http.StatusCreated || !r.OK() || r.Gone() || r.Location == "" {
		t.Fatalf("%+v, %v", r, err)
	}
	got := svc.Pushed()
	if len(got) != 1 || string(got[0].Plaintext) != `{"title":"请到3号窗口"}` || got[0].TTL != "90" || got[0].Urgency != "high" || got[0].Topic != "t42" || got[0].Token.Subject != "https://hall.example.org" {
		t.Fatalf("pushed %+v; errors %v", got, svc.Errors())
	}

	svc.Gone("/push/one")
	if r, err := c.Send(context.Background(), s, Message{Payload: []byte("x")}); err != nil || r.Status != http.StatusGone || !r.Gone() || r.OK() {
		t.Errorf("expired: %+v, %v", r, err)
	}
	s.Endpoint = svc.URL + "/push/never"
	if r, err := c.Send(context.Background(), s, Message{Payload: []byte("x")}); err != nil || r.Status != http.StatusNotFound || !r.Gone() || !strings.Contains(r.Error, "no such subscription") {
		t.Errorf("unknown: %+v, %v", r, err)
	}
	for _, m := range []Message{{Payload: make([]byte, MaxPayload+1)}, {Urgency: "now"}, {Topic: "a b"}, {Topic: strings.Repeat("a", 33)}, {TTL: -time.Second}} {
		if _, err := c.Send(context.Background(), s, m); err == nil {
			t.Errorf("%+v sent", m)
		}
	}
	if e := svc.Errors(); len(e) > 0 {
		t.Errorf("the push service refused: %v", e)
	}
}

// BenchmarkEncrypt: one message of a notification's size (a new key pair,
// ECDH, HKDF, AES-GCM).
func BenchmarkEncrypt(b *testing.B) {
	ua := pushtest.NewBrowser()
	plain := []byte(`{"title":"A012","body":"请 A012 到 3号窗口 办理。","tag":"0123456789abcdefghijkl","kind":"called","lang":"zh"}`)
	for b.Loop() {
		if _, err := Encrypt(plain, ua.Private.PublicKey(), ua.Auth); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend: encrypt, sign (the token reused) and post one message to
// the stand-in push service on loopback over TLS, which checks the token
// and decrypts it.
func BenchmarkSend(b *testing.B) {
	svc := pushtest.NewService()
	defer svc.Close()
	_, j := svc.Subscribe("/b")
	sub, _ := ParseSubscription(j)
	v, _ := NewVAPID(bytes.Repeat([]byte{1}, 32), "")
	c := &Client{VAPID: v, HTTP: svc.Client()}
	m := Message{Payload: []byte(`{"title":"A012","body":"请 A012 到 3号窗口 办理。","kind":"called"}`), TTL: time.Minute}
	for b.Loop() {
		if r, err := c.Send(context.Background(), sub, m); err != nil || !r.OK() {
			b.Fatal(r, err)
		}
	}
}
