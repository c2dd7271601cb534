package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/civiq/civiq"
)

// statuses maps each domain error code to its HTTP status: the one place
// this is decided.
var statuses = map[string]int{
	civiq.EInvalid:           http.StatusBadRequest,
	civiq.EInvalidIDNumber:   http.StatusBadRequest,
	civiq.ESlotFull:          http.StatusConflict,
	civiq.ELimitReached:      http.StatusConflict,
	civiq.ERemoteFull:        http.StatusConflict,
	civiq.ETicketHeld:        http.StatusConflict,
	civiq.ETooEarly:          http.StatusConflict,
	civiq.ETooLate:           http.StatusConflict,
	civiq.ESuspended:         http.StatusForbidden,
	civiq.EReasonRequired:    http.StatusBadRequest,
	civiq.EUnauthorized:      http.StatusUnauthorized,
	civiq.EForbidden:         http.StatusForbidden,
	civiq.ENotFound:          http.StatusNotFound,
	civiq.EConflict:          http.StatusConflict,
	civiq.EInvalidTransition: http.StatusConflict,
	civiq.EOwnedByEdge:       http.StatusConflict,
	civiq.EOwnedByCity:       http.StatusConflict,
	civiq.ERemotePaused:      http.StatusConflict,
	civiq.EQuotaReached:      http.StatusConflict,
	civiq.ETooLarge:          http.StatusRequestEntityTooLarge,
	civiq.ERateLimited:       http.StatusTooManyRequests,
	civiq.EUnavailable:       http.StatusServiceUnavailable,
	civiq.EInternal:          http.StatusInternalServerError,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// AgainAt, for quota_reached, is when tickets are given again.
	AgainAt *time.Time `json:"again_at,omitempty"`
}

// writeError answers with the contract's error body. Internal errors are
// logged with the route and the request id, never the path: a ticket's
// path holds its id, the holder's key (and a booking's its code); the
// user sees only "Internal error.".
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := civiq.ErrorCode(err)
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		slog.ErrorContext(r.Context(), "request failed", "err", err, "request_id", requestID(r.Context()), "route", route)
	}
	d := errorDetail{Code: code, Message: civiq.ErrorMessage(err)}
	if e, ok := err.(*civiq.Error); ok {
		d.Field = e.Field
		if !e.Again.IsZero() {
			d.AgainAt = &e.Again
		}
	}
	if e, ok := err.(*civiq.Error); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfter(e.RetryAfter))
	}
	writeJSON(w, status, errorBody{d})
}

// ticketAnswer is the answer {"ticket": …} of the routes that issue,
// call, move or read one ticket.
type ticketAnswer struct {
	Ticket *civiq.Ticket `json:"ticket"`
}

// AppendJSON appends the answer as encoding/json writes it, by the
// ticket's own encoder (no reflection); false when it cannot.
func (a ticketAnswer) AppendJSON(b []byte) ([]byte, bool) {
	if a.Ticket == nil {
		return b, false
	}
	out, ok := a.Ticket.AppendJSON(append(b, `{"ticket":`...))
	if !ok {
		return b, false
	}
	return append(out, '}'), true
}

// jsonAppender is an answer that encodes itself (writeJSON).
type jsonAppender interface {
	AppendJSON(b []byte) ([]byte, bool)
}

// writeJSON answers status with v as JSON (and a newline), in one write
// of a buffer kept for the next answer, its length said up front.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b := answers.Get().(*bytes.Buffer)
	defer putAnswer(b)
	encoded := false
	if a, ok := v.(jsonAppender); ok {
		if out, ok := a.AppendJSON(b.AvailableBuffer()); ok {
			b.Write(append(out, '\n'))
			encoded = true
		}
	}
	if !encoded {
		if err := json.NewEncoder(b).Encode(v); err != nil {
			// Nothing of it was written: the status alone, as before.
			slog.Error("answer not encoded", "err", err)
			b.Reset()
		}
	}
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// answers are the buffers answers are encoded in.
var answers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putAnswer keeps a buffer for the next answer, unless a long one made
// it large.
func putAnswer(b *bytes.Buffer) {
	if b.Cap() > 64<<10 {
		return
	}
	b.Reset()
	answers.Put(b)
}

// retryAfter is a Retry-After header's value.
func retryAfter(wait time.Duration) string { return strconv.Itoa(civiq.RetrySeconds(wait)) }
