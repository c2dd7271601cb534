package pushtest

import (
	"testing"
	"time"
)

// FuzzDecrypt: the stand-in's reading of a message never panics, whatever
// the body.
func FuzzDecrypt(f *testing.F) {
	b := NewBrowser()
	f.Add([]byte{})
	f.Add(make([]byte, 86))
	f.Add(append(make([]byte, 16), 0, 0, 0x10, 0, 65, 4))
	f.Fuzz(func(t *testing.T, body []byte) {
		b.Decrypt(body)
	})
}

// FuzzCheckVAPID: the stand-in's reading of an Authorization header never
// panics.
func FuzzCheckVAPID(f *testing.F) {
	f.Add("vapid t=a.b.c, k=BAAA")
	f.Add("vapid t=eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.e30.AAAA, k=")
	f.Fuzz(func(t *testing.T, h string) {
		CheckVAPID(h, "https://x", time.Unix(0, 0))
	})
}
