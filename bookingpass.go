package civiq

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Booking passes (issue 16). A hall with an edge node may be cut off from
// the city when a citizen booked online, so the edge may never have pulled
// the booking. The city therefore signs what the booking is, with the
// installation's receipt keys (receipt.go): its code, its id, the hall,
// the service, the slot, and two hashes of the ID number (of the whole
// number, for a card reader, and of its last 4 characters, as typed at a
// kiosk), each salted with the code. The holder gets the signed pass with
// the booking (it is theirs, as the code is); the edge, holding the
// city's public keys, checks a citizen in from the pass and the ID's
// last 4 alone (CheckIn with CheckInRequest.Pass), and the check-in's
// event tells the city when the link is back (EdgeCheckIn).
//
// The hashes keep the ID number off the pass, not out of reach: the last
// 4 are ten thousand guesses away from anyone holding the pass, which is
// why the pass goes to the holder only.

// BookingPass is what a booking's signed pass states.
type BookingPass struct {
	Version   int    `json:"v"`
	Code      string `json:"code"`
	BookingID string `json:"booking"`
	HallID    string `json:"hall"`
	ServiceID string `json:"service"`
	Start     int64  `json:"start"` // the slot, Unix seconds
	End       int64  `json:"end"`
	IDHash    string `json:"idh"` // passHash of the whole ID number
	Last4Hash string `json:"l4h"` // passHash of its last 4 characters
	KeyID     string `json:"kid"`
}

// maxPassPayload bounds a pass: one signed by civiq is about 400
// characters.
const maxPassPayload = 1024

// passContext is signed before a pass's bytes.
const passContext = "civiq booking pass v1\n"

// passHash hashes what of the ID number a pass states, salted with the
// booking code: whole is "id" or "last4".
func passHash(code, what, value string) string {
	h := sha256.Sum256([]byte("civiq booking " + what + " v1\n" + code + "\n" + strings.ToUpper(value)))
	return receiptEncoding.EncodeToString(h[:])
}

func (p *BookingPass) validate() error {
	switch {
	case p.Version != 1:
		return errors.New("unknown version")
	case NormalizeCode(p.Code) != p.Code:
		return errors.New("bad code")
	case len(p.BookingID) < 8 || len(p.BookingID) > 40 || strings.ContainsFunc(p.BookingID, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') }):
		return errors.New("bad booking id")
	case !ValidID(p.HallID) || !ValidID(p.ServiceID):
		return errors.New("bad hall or service")
	case p.Start <= 0 || p.End <= p.Start || p.End-p.Start > 24*3600:
		return errors.New("bad slot")
	case len(p.IDHash) != 43 || len(p.Last4Hash) != 43:
		return errors.New("bad hash")
	case p.KeyID == "" || len(p.KeyID) > 32:
		return errors.New("bad key id")
	}
	return nil
}

// SlotStart and SlotEnd are the pass's slot.
func (p *BookingPass) SlotStart() time.Time { return time.Unix(p.Start, 0) }
func (p *BookingPass) SlotEnd() time.Time   { return time.Unix(p.End, 0) }

// ParseBookingPass reads a pass without checking its signature.
func ParseBookingPass(payload string) (p *BookingPass, body, sig []byte, err error) {
	return parseSigned[BookingPass](strings.TrimSpace(payload), maxPassPayload, "not a booking pass")
}

// SignBookingPass signs the pass of booking b, whose whole ID number is
// id.
func (k *ReceiptKeys) SignBookingPass(b *Booking, id string) (string, error) {
	if !k.CanSign() {
		return "", errors.New("booking pass: these keys only verify")
	}
	p := BookingPass{Version: 1, Code: b.Code, BookingID: b.ID, HallID: b.HallID, ServiceID: b.ServiceID,
		Start: b.SlotStart.Unix(), End: b.SlotEnd.Unix(), IDHash: passHash(b.Code, "id", id),
		Last4Hash: passHash(b.Code, "last4", Last4(id)), KeyID: k.currentKeyID()}
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("booking pass: %w", err)
	}
	body, err := json.Marshal(&p)
	if err != nil {
		return "", err
	}
	return k.signBody(passContext, body)
}

// VerifyBookingPass checks a pass offline against the public keys: it
// must be signed by one of them, unchanged, for the code given and for
// the holder, who proves it with the last 4 characters of the ID number
// or (a card reader) the whole number. It answers the pass, or why not:
// ReceiptMalformed, ReceiptUnknownKey, ReceiptBadSignature, or
// PassWrongHolder when the code or the ID does not match.
func VerifyBookingPass(keys *ReceiptKeys, payload, code, last4, idNumber string) (*BookingPass, string) {
	p, body, sig, err := ParseBookingPass(payload)
	if err != nil || keys == nil {
		return nil, ReceiptMalformed
	}
	if reason := keys.verifyBody(passContext, p.KeyID, body, sig); reason != "" {
		return nil, reason
	}
	var got, want string
	switch {
	case idNumber != "":
		got, want = passHash(p.Code, "id", idNumber), p.IDHash
	case len(strings.TrimSpace(last4)) == 4:
		got, want = passHash(p.Code, "last4", strings.TrimSpace(last4)), p.Last4Hash
	default:
		return nil, PassWrongHolder
	}
	if c := NormalizeCode(code); c != "" && c != p.Code || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, PassWrongHolder
	}
	return p, ""
}

// PassWrongHolder: the pass is genuine, but not for this code or ID.
const PassWrongHolder = "wrong_holder"

// bookingPass is the signed pass of booking b for its holder, "" when the
// installation signs none (no receipt keys, or no key to open the ID).
func (e *Engine) bookingPass(b *Booking, id string) string {
	if !e.Receipts.CanSign() || b.Status != BookingBooked {
		return ""
	}
	if id == "" {
		if e.Sealer == nil || b.IDSealed == "" {
			return ""
		}
		var err error
		if id, err = e.Sealer.Open(b.IDSealed); err != nil {
			return ""
		}
	}
	pass, err := e.Receipts.SignBookingPass(b, id)
	if err != nil {
		return ""
	}
	return pass
}

// passBooking is the booking a genuine pass states, as an edge node that
// never pulled it keeps it: the person is known by the last 4 characters
// of the ID number only.
func passBooking(p *BookingPass, last4 string, now time.Time) *Booking {
	return &Booking{ID: p.BookingID, Code: p.Code, HallID: p.HallID, ServiceID: p.ServiceID,
		SlotStart: p.SlotStart(), SlotEnd: p.SlotEnd(), Status: BookingBooked,
		IDNumber: strings.Repeat("*", 14) + strings.ToUpper(last4), CreatedAt: now}
}

// passCheckIn finds the booking of a check-in by its pass, at a node that
// holds the city's public keys and no booking of that code: a genuine pass
// of this hall, for the holder who gives the ID's last 4 (or whole
// number), becomes a booking of the node, which CheckIn then checks in.
// A pass not genuine is refused; one for someone else is errNoBooking
// and a wrong try.
func (e *Engine) passCheckIn(tx Tx, req CheckInRequest, idNumber string, wrong *bool) (*Booking, error) {
	if e.CityKeys == nil {
		return nil, errNoBooking
	}
	p, reason := VerifyBookingPass(e.CityKeys, req.Pass, req.Code, req.IDLast4, idNumber)
	switch reason {
	case "":
	case PassWrongHolder:
		*wrong = req.IDLast4 != ""
		return nil, errNoBooking
	default:
		return nil, FieldErrorf("pass", "this booking pass is not genuine (%s): check in at a counter", reason)
	}
	if p.HallID != req.HallID {
		return nil, errNoBooking
	}
	if _, err := tx.BookingByCode(p.Code); ErrorCode(err) != ENotFound {
		if err != nil {
			return nil, err
		}
		return nil, errNoBooking // the node's own copy decides
	}
	if _, err := tx.Service(p.HallID, p.ServiceID); err != nil {
		return nil, err
	}
	last4 := req.IDLast4
	if idNumber != "" {
		last4 = Last4(idNumber)
	}
	b := passBooking(p, last4, e.now())
	return b, tx.InsertBooking(b)
}

// edgeCheckedIn records at the city a check-in made at the hall's edge
// node, as the ticket.issued event it sent up tells it: the city's
// booking, still booked or swept as a no-show meanwhile, is checked in
// with the edge's ticket. A booking the city cancelled meanwhile stays
// cancelled (the hall served the citizen anyway; its ticket says so).
func edgeCheckedIn(tx Tx, ev *Event) error {
	ref := ev.Booking
	if ev.Type != EventIssued || ref == nil || ref.Status != BookingCheckedIn || ev.Ticket == nil {
		return nil
	}
	list, err := tx.Bookings(ev.HallID, ref.SlotStart, ref.SlotStart.Add(time.Second))
	if err != nil {
		return err
	}
	for i := range list {
		b := &list[i]
		if b.ID != ref.ID || b.Status != BookingBooked && b.Status != BookingNoShow {
			continue
		}
		at := ev.At
		b.Status, b.CheckedInAt, b.TicketID, b.TicketNumber, b.NoShowAt = BookingCheckedIn, &at, ev.Ticket.ID, ev.Ticket.Number, nil
		return tx.UpdateBooking(b)
	}
	return nil
}
