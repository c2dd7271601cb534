package outbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/civiq/civiq"
)

// Haochaping sends the 好差评 records to the provincial platform: the
// sender of the reporters (subscribers of kind civiq.SubscriberHaochaping).
// The engine builds each record, shaped by the reporter's mapping; this
// posts it through the HTTP sender, authenticated as the reporter says.
type Haochaping struct {
	Engine *civiq.Engine
	HTTP   *HTTPSender
}

// SignBody is the HMAC of a record's body under the shared key: hex
// HMAC-SHA256.
func SignBody(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Send builds the record of m and posts it. Headers: the auth (the
// body's HMAC in the reporter's signature header, or a bearer token),
// X-Civiq-Message-Id (the same on every try: receivers drop repeats by
// it) and X-Civiq-Record-Id.
func (h *Haochaping) Send(ctx context.Context, s *civiq.Subscriber, m *civiq.Message) civiq.DeliveryAttempt {
	out, err := h.Engine.HaochapingMessage(ctx, s, m)
	if err != nil {
		return civiq.DeliveryAttempt{SubscriberID: s.ID, EventID: m.EventID, MessageID: m.ID, At: h.HTTP.Now(),
			Error: short("build the record: " + err.Error())}
	}
	// Content-Type (application/json), Content-Length, Host and
	// User-Agent are the request's own (appendHead).
	header := http.Header{}
	header.Set("X-Civiq-Message-Id", m.ID)
	header.Set("X-Civiq-Record-Id", out.RecordID)
	switch out.Auth {
	case civiq.AuthHMAC:
		if civiq.RefusedSignatureHeader(out.SignatureHeader) {
			// Set before such names were refused (a PUT now is 400): the
			// request has that header already, and the signature would go
			// nowhere or over it. Said at each try rather than sent so.
			return civiq.DeliveryAttempt{SubscriberID: s.ID, EventID: m.EventID, MessageID: m.ID, At: h.HTTP.Now(),
				Error: short("signature_header " + out.SignatureHeader + " is a header the request has already: set another (PUT signature_header)")}
		}
		header.Set(out.SignatureHeader, SignBody(out.Key, out.Body))
	case civiq.AuthBearer:
		header.Set("Authorization", "Bearer "+out.Key)
	}
	return h.HTTP.Post(ctx, s, m, out.Body, header)
}

var _ civiq.Sender = (*Haochaping)(nil)
