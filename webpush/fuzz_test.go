package webpush

import (
	"bytes"
	"testing"

	"github.com/civiq/civiq/webpush/pushtest"
)

// FuzzParseSubscription: whatever a browser (or anyone) posts, the parser
// answers without panicking, and a subscription it accepts can be
// encrypted for.
func FuzzParseSubscription(f *testing.F) {
	b := pushtest.NewBrowser()
	f.Add(b.JSON("https://push.example.net/wpush/v2/gAAAA"))
	f.Add([]byte(`{"endpoint":"https://a/","keys":{"p256dh":"","auth":""}}`))
	f.Add([]byte(`{"endpoint":"http://127.0.0.1/x","expirationTime":1,"keys":{}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSubscription(data)
		if err != nil {
			return
		}
		pub, err1 := s.Public()
		auth, err2 := s.AuthSecret()
		if err1 != nil || err2 != nil {
			t.Fatalf("accepted with bad keys: %v %v", err1, err2)
		}
		if _, err := Encrypt([]byte("x"), pub, auth); err != nil {
			t.Fatal(err)
		}
		if _, err := Audience(s.Endpoint); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzEncrypt: every payload up to MaxPayload comes back through the
// independent decryption.
func FuzzEncrypt(f *testing.F) {
	b := pushtest.NewBrowser()
	f.Add([]byte(rfcPlaintext))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, plain []byte) {
		msg, err := Encrypt(plain, b.Private.PublicKey(), b.Auth)
		if len(plain) > MaxPayload {
			if err == nil {
				t.Fatal("too long, encrypted")
			}
			return
		}
		got, err := b.Decrypt(msg)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%v", err)
		}
	})
}
