// Package civiq is the domain of a public service hall: halls, services,
// counters, tickets and their state machine, the calling policies, users,
// devices and events. It holds no SQL and no HTTP; the adapters in sqlstore/
// and api/ are built around it.
package civiq

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: every code of the domain is declared here. The API maps each
// to one HTTP status in one table (api/errors.go); anything else is an
// internal error.
const (
	EInvalid           = "invalid"            // 400: bad input, names the field
	EUnauthorized      = "unauthorized"       // 401
	EForbidden         = "forbidden"          // 403
	ENotFound          = "not_found"          // 404
	EConflict          = "conflict"           // 409
	EInvalidTransition = "invalid_transition" // 409: the state machine forbids it
	ETooLarge          = "too_large"          // 413
	ERateLimited       = "rate_limited"       // 429
	EUnavailable       = "unavailable"        // 503: storage away, try again
	EInternal          = "internal"           // 500: a bug

	// Appointments (booking.go) and check-ins.
	ESlotFull     = "slot_full"     // 409: no place left in the slot
	ELimitReached = "limit_reached" // 409: the person holds enough bookings
	ESuspended    = "suspended"     // 403: booking suspended after no-shows
	ETooEarly     = "too_early"     // 409: not yet (check-in, or booking too far ahead)
	ETooLate      = "too_late"      // 409: no longer (check-in, cancel, booking)
	// EInvalidIDNumber: an ID number that is not a mainland ID number
	// (idnumber.go), 400.
	EInvalidIDNumber = "invalid_id_number"

	// Remote tickets (ticket.go, IssueTicket), 409: the service holds as
	// many waiting remote tickets as the hall allows; the phone already
	// holds as many waiting tickets of the service as the hall allows.
	ERemoteFull = "remote_full"
	ETicketHeld = "ticket_held"

	// EReasonRequired: a bad rating (rating.go) that says neither a reason
	// nor a comment, 400.
	EReasonRequired = "reason_required"

	// Ownership (edge.go), 409: the hall's edge node owns the hall's live
	// work, the city its configuration.
	EOwnedByEdge = "owned_by_edge"
	EOwnedByCity = "owned_by_city"

	// ERemotePaused (edgerelay.go), 409: the hall's edge node cannot be
	// reached, so the city takes no remote ticket for it; citizens take
	// one at the kiosk.
	ERemotePaused = "remote_paused"

	// EQuotaReached (quota.go), 409: the service has given its day's or
	// half-day's tickets, or the person as many as one person may take of
	// it in a day; the message says when tickets are given again.
	EQuotaReached = "quota_reached"
)

// Error is an error a user may see: a code and a human message. Field names
// the input at fault for EInvalid.
type Error struct {
	Code    string
	Message string
	Field   string
	// RetryAfter, for rate_limited, is how long to wait before trying
	// again (the API's Retry-After).
	RetryAfter time.Duration
	// Again, for quota_reached, is when tickets of the service are given
	// again (the API's again_at), in the hall's time zone.
	Again time.Time
}

// Error is the message and, in brackets, the code: what a command line or
// a log shows (civiq edge-sync: the city: unknown token (unauthorized)).
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// RetrySeconds is a wait in whole seconds, rounded up, at least 1: what a
// Retry-After header says.
func RetrySeconds(wait time.Duration) int {
	return max(int((wait+time.Second-1)/time.Second), 1)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EInvalid error that names the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EInternal when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// ErrorField names the field at fault of an invalid err, "" if none.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorMessage returns the human message of err; internal details are never
// shown to users.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// IsNotFound reports whether err is a not_found error.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ENotFound
}
