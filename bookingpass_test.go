package civiq_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// publicOnly is what an edge node holds of keys: the city's public list.
func publicOnly(t testing.TB, k *civiq.ReceiptKeys) *civiq.ReceiptKeys {
	t.Helper()
	pub, err := civiq.PublicReceiptKeys(k.Public())
	if err != nil || pub.CanSign() {
		t.Fatalf("PublicReceiptKeys = %v, %v", pub, err)
	}
	return pub
}

// passBooking is a booking as the city signs its pass.
func passBooking() *civiq.Booking {
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	return &civiq.Booking{ID: "abcdefghijklmnopqrstuvwx", Code: "ABCD2345", HallID: "demo", ServiceID: "property",
		SlotStart: start, SlotEnd: start.Add(30 * time.Minute), Status: civiq.BookingBooked}
}

// TestBookingPassVerify: a pass verifies offline with the public keys
// alone, for its code and holder; anything forged, altered or for someone
// else is refused, each for its reason.
func TestBookingPassVerify(t *testing.T) {
	city := receiptKeys(t, 1)
	edge := publicOnly(t, city)
	id := idOf(1)
	pass, err := city.SignBookingPass(passBooking(), id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pass, civiq.Last4(id)) || strings.Contains(pass, id) {
		t.Fatal("the pass holds the ID number")
	}
	if _, err := edge.SignBookingPass(passBooking(), id); err == nil {
		t.Error("public keys signed a pass")
	}
	body, sig, _ := strings.Cut(pass, ".")
	rawBody, _ := base64.RawURLEncoding.DecodeString(body)
	enc := base64.RawURLEncoding.EncodeToString
	// altered re-encodes the pass's body with one field changed and the
	// original signature.
	altered := func(field string, v any) string {
		var m map[string]any
		if err := json.Unmarshal(rawBody, &m); err != nil {
			t.Fatal(err)
		}
		m[field] = v
		b, _ := json.Marshal(m)
		return enc(b) + "." + sig
	}
	// forged signs the same body with a key that is not the city's.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	forged := body + "." + enc(ed25519.Sign(other, append([]byte("civiq booking pass v1\n"), rawBody...)))
	rotated := receiptKeys(t, 1, 2)
	newer, err := rotated.SignBookingPass(passBooking(), id)
	if err != nil {
		t.Fatal(err)
	}
	last4 := civiq.Last4(id)
	for _, c := range []struct {
		name               string
		keys               *civiq.ReceiptKeys
		pass, code, last4  string
		idNumber, wantWhy  string
		wantStart, wantEnd bool
	}{
		{name: "genuine, last 4", keys: edge, pass: pass, code: "ABCD2345", last4: last4},
		{name: "genuine, typed loosely", keys: edge, pass: " " + pass + "\n", code: "abcd-2345", last4: strings.ToLower(last4)},
		{name: "genuine, no code typed", keys: edge, pass: pass, last4: last4},
		{name: "genuine, card reader", keys: edge, pass: pass, code: "ABCD2345", idNumber: id},
		{name: "old key after rotation", keys: publicOnly(t, rotated), pass: pass, last4: last4},
		{name: "new key unknown to the edge", keys: edge, pass: newer, last4: last4, wantWhy: civiq.ReceiptUnknownKey},
		{name: "forged signature", keys: edge, pass: forged, last4: last4, wantWhy: civiq.ReceiptBadSignature},
		{name: "service altered", keys: edge, pass: altered("service", "tax"), last4: last4, wantWhy: civiq.ReceiptBadSignature},
		{name: "slot altered", keys: edge, pass: altered("start", 1772502000), last4: last4, wantWhy: civiq.ReceiptBadSignature},
		{name: "hall altered", keys: edge, pass: altered("hall", "other"), last4: last4, wantWhy: civiq.ReceiptBadSignature},
		{name: "unknown field", keys: edge, pass: altered("x", 1), last4: last4, wantWhy: civiq.ReceiptMalformed},
		{name: "signature cut", keys: edge, pass: pass[:len(pass)-2], last4: last4, wantWhy: civiq.ReceiptMalformed},
		{name: "no signature", keys: edge, pass: body, last4: last4, wantWhy: civiq.ReceiptMalformed},
		{name: "empty", keys: edge, pass: "", last4: last4, wantWhy: civiq.ReceiptMalformed},
		{name: "a receipt is no pass", keys: edge, pass: mustReceipt(t, city), last4: last4, wantWhy: civiq.ReceiptMalformed},
		{name: "wrong last 4", keys: edge, pass: pass, last4: "0000", wantWhy: civiq.PassWrongHolder},
		{name: "no last 4", keys: edge, pass: pass, wantWhy: civiq.PassWrongHolder},
		{name: "someone else's ID", keys: edge, pass: pass, idNumber: idOf(2), wantWhy: civiq.PassWrongHolder},
		{name: "another code", keys: edge, pass: pass, code: "ABCD2346", last4: last4, wantWhy: civiq.PassWrongHolder},
	} {
		p, why := civiq.VerifyBookingPass(c.keys, c.pass, c.code, c.last4, c.idNumber)
		if why != c.wantWhy || (why == "") != (p != nil) {
			t.Errorf("%s: %+v, %q; want %q", c.name, p, why, c.wantWhy)
			continue
		}
		if p != nil && (p.Code != "ABCD2345" || p.HallID != "demo" || p.ServiceID != "property" ||
			!p.SlotStart().Equal(passBooking().SlotStart) || !p.SlotEnd().Equal(passBooking().SlotEnd)) {
			t.Errorf("%s: the pass states %+v", c.name, p)
		}
	}
	// Any byte changed, to anything, and it fails.
	for i := range len(pass) {
		for _, r := range []byte{'A', 'z', '0', '_', '.'} {
			if pass[i] == r {
				continue
			}
			changed := pass[:i] + string(r) + pass[i+1:]
			if p, why := civiq.VerifyBookingPass(edge, changed, "", last4, ""); why == "" {
				t.Fatalf("byte %d made %q still verifies: %+v", i, r, p)
			}
		}
	}
}

func mustReceipt(t *testing.T, k *civiq.ReceiptKeys) string {
	t.Helper()
	r, err := k.SignReceipt(civiq.Receipt{Version: 1, Kind: civiq.ReceiptAccepted, Code: "ABCDEFGHJKMN", Number: "2026031200071234",
		HallID: "demo", Date: "2026-03-12", Applicant: "张*"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOfflineCheckIn: the city gives a booking's holder its signed pass;
// an edge node of the hall that never pulled the booking checks the
// citizen in from the pass and the ID's last 4; a forged pass is refused,
// a wrong last 4 is a wrong try; the check-in's event, applied at the
// city, checks the city's booking in.
func TestOfflineCheckIn(t *testing.T) {
	t.Parallel()
	city := newBookingEnv(t)
	keys := receiptKeys(t, 3)
	city.eng.Receipts = keys
	b := city.mustBook("property", slot(3, 10, 0), 1)
	last4 := civiq.Last4(idOf(1))
	if b.Pass == "" {
		t.Fatal("a booking without a pass")
	}
	if p, why := civiq.VerifyBookingPass(publicOnly(t, keys), b.Pass, b.Code, last4, ""); why != "" || p.BookingID != b.ID {
		t.Fatalf("the booking's own pass: %+v, %q", p, why)
	}
	found, _, _, err := city.eng.FindBooking(city.ctx, b.Code, last4, civiq.Principal{})
	if err != nil || found.Pass == "" {
		t.Fatalf("the holder finds %+v, %v; want the pass", found, err)
	}
	_, staff := staffCtx(city.ctx)
	if found, _, _, err := city.eng.FindBooking(city.ctx, b.Code, "", staff); err != nil || found.Pass != "" {
		t.Errorf("staff find %+v, %v; want no pass", found, err)
	}

	edge := newBookingEnv(t)
	edge.eng.CityKeys = publicOnly(t, keys)
	edge.set(time.Date(2026, 3, 3, 9, 40, 0, 0, shanghai))
	edge.take()
	checkIn := func(pass, last4 string) (*civiq.Ticket, *civiq.Booking, error) {
		return edge.eng.CheckIn(edge.ctx, civiq.CheckInRequest{HallID: "demo", Code: b.Code, IDLast4: last4, Pass: pass}, nil)
	}
	_, _, err = checkIn(b.Pass[:len(b.Pass)-4]+"AAAA", last4)
	wantErr(t, err, civiq.EInvalid, "pass")
	_, _, err = checkIn(b.Pass, "0000")
	wantErr(t, err, civiq.ENotFound, "")
	_, _, err = edge.eng.CheckIn(edge.ctx, civiq.CheckInRequest{HallID: "other", Code: b.Code, IDLast4: last4, Pass: b.Pass}, nil)
	wantErr(t, err, civiq.ENotFound, "")
	if evs := edge.take(); len(evs) != 0 {
		t.Fatalf("refused check-ins wrote %d events", len(evs))
	}
	tk, booking, err := checkIn(b.Pass, last4)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != civiq.ChannelAppointment || !strings.HasPrefix(tk.Number, "B") || booking.Status != civiq.BookingCheckedIn ||
		booking.ID != b.ID || booking.IDNumber != "**************"+last4 || booking.Name != "" {
		t.Errorf("ticket %+v, booking %+v", tk, booking)
	}
	_, _, err = checkIn(b.Pass, last4)
	wantErr(t, err, civiq.EConflict, "")
	evs := edge.take()
	if len(evs) != 1 || evs[0].Type != civiq.EventIssued || evs[0].Booking == nil || evs[0].Booking.ID != b.ID {
		t.Fatalf("events %+v", evs)
	}

	// The link is back: the city applies the edge's event.
	if err := city.eng.EdgeCheckedIn(city.ctx, evs[0]); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := city.eng.FindBooking(city.ctx, b.Code, last4, civiq.Principal{})
	if err != nil || got.Status != civiq.BookingCheckedIn || got.TicketNumber != tk.Number || got.TicketID != tk.ID || got.Pass != "" {
		t.Errorf("the city's booking %+v, %v", got, err)
	}
}

// FuzzBookingPass: no input makes the pass decoder fail badly, and none
// verifies but the pass the key signed.
func FuzzBookingPass(f *testing.F) {
	keys := receiptKeys(f, 1)
	signed, err := keys.SignBookingPass(passBooking(), idOf(1))
	if err != nil {
		f.Fatal(err)
	}
	last4 := civiq.Last4(idOf(1))
	f.Add(signed)
	f.Add("")
	f.Add(".")
	f.Add("e30.AAAA")
	f.Add(signed[:len(signed)/2])
	f.Fuzz(func(t *testing.T, payload string) {
		p, _, _, err := civiq.ParseBookingPass(payload)
		if (err == nil) != (p != nil) {
			t.Fatalf("ParseBookingPass(%q) = %v, %v", payload, p, err)
		}
		if p, why := civiq.VerifyBookingPass(keys, payload, "", last4, ""); why == "" && strings.TrimSpace(payload) != signed {
			t.Fatalf("%q verifies: %+v", payload, p)
		}
	})
}
