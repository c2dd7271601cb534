package api

import "testing"

// BenchmarkDecodeIssue decodes a kiosk's issue request, whose service_id
// is required: what every ticket's body costs before the engine, as the
// route reads it (decodeIssue) and by encoding/json (decode).
func BenchmarkDecodeIssue(b *testing.B) {
	body := []byte(`{"service_id":"general","channel":"kiosk"}`)
	b.Run("route", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeIssue(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req issueRequest
			if err := decode(body, &req, "service_id"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
