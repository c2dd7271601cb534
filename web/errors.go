package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/civiq/civiq"
)

// pageError is how web answers an error of one code: its status, the page
// that says it and the catalogue keys of the page's title and its text.
type pageError struct {
	Status      int
	Page        string
	Title, Text string
}

// pageErrors maps every error code of the domain (errors.go) to its answer:
// the one place web decides it. A code not here is an internal error.
var pageErrors = map[string]pageError{
	civiq.EInvalid:           {http.StatusBadRequest, "error", "error.title", "error.invalid"},
	civiq.EInvalidIDNumber:   {http.StatusBadRequest, "error", "error.title", "error.invalid"},
	civiq.EReasonRequired:    {http.StatusBadRequest, "error", "error.title", "error.invalid"},
	civiq.EUnauthorized:      {http.StatusUnauthorized, "error", "error.title", "error.unauthorized"},
	civiq.EForbidden:         {http.StatusForbidden, "error", "error.title", "error.forbidden"},
	civiq.ESuspended:         {http.StatusForbidden, "error", "error.title", "error.forbidden"},
	civiq.ENotFound:          {http.StatusNotFound, "notfound", "notfound.title", "notfound.title"},
	civiq.EConflict:          {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.EInvalidTransition: {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.EOwnedByEdge:       {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.EOwnedByCity:       {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ERemotePaused:      {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.EQuotaReached:      {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ESlotFull:          {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ELimitReached:      {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ERemoteFull:        {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ETicketHeld:        {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ETooEarly:          {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ETooLate:           {http.StatusConflict, "error", "error.title", "error.conflict"},
	civiq.ETooLarge:          {http.StatusRequestEntityTooLarge, "error", "error.title", "error.too_large"},
	civiq.ERateLimited:       {http.StatusTooManyRequests, "error", "error.title", "error.rate_limited"},
	civiq.EUnavailable:       {http.StatusServiceUnavailable, "error", "error.unavailable_title", "error.unavailable"},
	civiq.EInternal:          {http.StatusInternalServerError, "error", "error.title", "error.internal"},
}

// errorAnswer looks err up in pageErrors. It logs a 5xx with the route and
// the request id (set by the API's handler in front of the pages), never
// the path or the form, which may hold personal data; a 503 gets
// Retry-After.
func errorAnswer(w http.ResponseWriter, r *http.Request, err error) (string, pageError) {
	code := civiq.ErrorCode(err)
	a, ok := pageErrors[code]
	if !ok {
		a = pageErrors[civiq.EInternal]
	}
	if a.Status >= 500 {
		slog.ErrorContext(r.Context(), "page failed", "route", r.Pattern, "code", code, "err", err,
			"request_id", w.Header().Get("X-Request-Id"))
	}
	if a.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	if e, ok := err.(*civiq.Error); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(civiq.RetrySeconds(e.RetryAfter)))
	}
	return code, a
}

// fail answers a page's request that failed with err: the status and page
// of pageErrors, in the page's language. Every page handler answers its
// errors through it.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	_, a := errorAnswer(w, r, err)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, a.Status, a.Page, a.Title, errorView{Text: a.Text, Retry: a.Status == http.StatusServiceUnavailable})
}

// errorView is what error.html gets.
type errorView struct {
	Text  string // catalogue key
	Retry bool   // the page reloads itself after a while
}

// failJSON answers a route of web that is not a page (a QR code, a
// receipt) with the API's error body, {"error":{"code","message"}}.
func failJSON(w http.ResponseWriter, r *http.Request, err error) {
	code, a := errorAnswer(w, r, err)
	if a.Status == http.StatusInternalServerError {
		code = civiq.EInternal
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.Status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": civiq.ErrorMessage(err)}})
}
