package civiq_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

func receiptKeys(t testing.TB, seeds ...byte) *civiq.ReceiptKeys {
	t.Helper()
	var ss [][]byte
	for _, s := range seeds {
		ss = append(ss, bytes.Repeat([]byte{s}, 32))
	}
	k, err := civiq.NewReceiptKeys(ss...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// acceptedCase opens a case on a ticket served at counter 1, accepted at
// once (every required material received).
func (e *env) acceptedCase() *civiq.Case {
	e.tb.Helper()
	if _, err := e.eng.LoadDemoGuides(e.ctx); err != nil {
		e.tb.Fatal(err)
	}
	tk := e.served("general", "1")
	ctx, _ := staffCtx(e.ctx)
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-h-permit", Applicant: applicant(),
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3"}}})
	if err != nil || c.Status != civiq.CaseAccepted {
		e.tb.Fatalf("open case: %+v, %v", c, err)
	}
	return c
}

// TestReceipts: accepting and finishing a case issue signed receipts; each
// verifies by its payload and by its code, and says what it states; any
// byte of the payload changed makes it fail; after a key rotation the new
// key signs and old receipts still verify.
func TestReceipts(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.VerifyReceipt(e.ctx, "x.y"); civiq.ErrorCode(err) != civiq.EUnavailable {
		t.Errorf("without keys: %v; want unavailable", err)
	}
	old := receiptKeys(t, 1)
	e.eng.Receipts = old
	c := e.acceptedCase()
	if len(c.ReceiptCode) != civiq.ReceiptCodeLength {
		t.Fatalf("accepted case's receipt code %q", c.ReceiptCode)
	}
	byCode, err := e.eng.ReceiptByCode(e.ctx, strings.ToLower(c.ReceiptCode[:4]+"-"+c.ReceiptCode[4:]))
	if err != nil || !byCode.Valid || byCode.Payload == "" {
		t.Fatalf("ReceiptByCode = %+v, %v", byCode, err)
	}
	accepted := byCode.Payload
	check, err := e.eng.VerifyReceipt(e.ctx, accepted)
	if err != nil || !check.Valid {
		t.Fatalf("VerifyReceipt = %+v, %v", check, err)
	}
	r := check.Receipt
	today := e.day(0).Format("2006-01-02")
	if r.Kind != civiq.ReceiptAccepted || r.Number != c.Number || r.HallID != "demo" || r.Date != today || r.Promised != c.PromisedDate ||
		r.Applicant != "张*" || r.Code != c.ReceiptCode || check.HallName == "" {
		t.Errorf("the receipt states %+v (%s)", r, check.HallName)
	}
	if strings.Contains(accepted, testPhone) || strings.Contains(check.Receipt.Applicant, "张三") {
		t.Error("the receipt holds personal data")
	}
	if got, _ := e.eng.Case(e.ctx, c.Number, civiq.Principal{User: &civiq.User{Role: civiq.RoleAdmin}}); got.ReceiptCode != c.ReceiptCode {
		t.Errorf("the case's receipt code %q; want %q", got.ReceiptCode, c.ReceiptCode)
	}

	// Any byte changed, to anything, and it fails.
	for i := range len(accepted) {
		for _, b := range []byte{'A', 'f', '0', '_', '-', '.', '=', '\n', ' ', 0x80} {
			if accepted[i] == b {
				continue
			}
			changed := accepted[:i] + string([]byte{b}) + accepted[i+1:]
			if ch, err := e.eng.VerifyReceipt(e.ctx, changed); err == nil && ch.Valid {
				t.Fatalf("byte %d changed to %q still verifies", i, b)
			}
		}
	}
	for _, cut := range []string{accepted[:len(accepted)-1], accepted[1:], accepted + "A", strings.Replace(accepted, ".", "", 1)} {
		if ch, err := e.eng.VerifyReceipt(e.ctx, cut); err == nil && ch.Valid {
			t.Errorf("%q verifies", cut)
		}
	}

	// Rotation: the new key signs the 办结 notice; both verify with the
	// two keys; with the new key alone the old receipt's key is unknown.
	rotated := receiptKeys(t, 1, 2)
	e.eng.Receipts = rotated
	ctx, staff := staffCtx(e.ctx)
	f, err := e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseFinished, By: staff})
	if err != nil || f.ReceiptCode == "" || f.ReceiptCode == c.ReceiptCode {
		t.Fatalf("finish: %+v, %v", f, err)
	}
	fin, err := e.eng.ReceiptByCode(e.ctx, f.ReceiptCode)
	if err != nil || !fin.Valid || fin.Receipt.Kind != civiq.ReceiptFinished || fin.Receipt.Promised != "" {
		t.Fatalf("the 办结 notice: %+v, %v", fin, err)
	}
	keys := rotated.Public()
	if len(keys) != 2 || keys[0].Current || !keys[1].Current || fin.Receipt.KeyID != keys[1].ID || check.Receipt.KeyID != keys[0].ID {
		t.Errorf("keys %+v; old receipt by %s, new by %s", keys, check.Receipt.KeyID, fin.Receipt.KeyID)
	}
	if ch, err := e.eng.VerifyReceipt(e.ctx, accepted); err != nil || !ch.Valid {
		t.Errorf("after rotation the old receipt: %+v, %v", ch, err)
	}
	e.eng.Receipts = receiptKeys(t, 2)
	if ch, err := e.eng.VerifyReceipt(e.ctx, accepted); err != nil || ch.Valid || ch.Reason != civiq.ReceiptUnknownKey {
		t.Errorf("without the old key: %+v, %v", ch, err)
	}
	// A receipt signed by another installation's key with the same id
	// cannot be made; one signed by a stranger's key is unknown.
	stranger := receiptKeys(t, 9)
	e.eng.Receipts = stranger
	if ch, _ := e.eng.VerifyReceipt(e.ctx, accepted); ch.Valid {
		t.Error("a stranger's keys verify our receipt")
	}
	e.eng.Receipts = rotated
	if _, err := e.eng.ReceiptByCode(e.ctx, "ABCDEFGHJKMN"); civiq.ErrorCode(err) != civiq.ENotFound {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := e.eng.ReceiptByCode(e.ctx, "short"); civiq.ErrorCode(err) != civiq.EInvalid {
		t.Errorf("bad code: %v", err)
	}
	if _, err := e.eng.VerifyReceipt(e.ctx, strings.Repeat("A", 5000)); civiq.ErrorCode(err) != civiq.EInvalid {
		t.Errorf("an oversized payload: %v", err)
	}
}

// TestReceiptKeyFile: the key file is made 0600 with one key; a rotation
// adds one that signs from then on; CIVIQ_RECEIPT_KEYS wins over the file.
func TestReceiptKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "civiq.db.receipt-keys")
	k1, err := civiq.OpenReceiptKeys("", path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v", fi.Mode(), err)
	}
	again, err := civiq.OpenReceiptKeys("", path)
	if err != nil || len(again.Public()) != 1 || again.Public()[0] != k1.Public()[0] {
		t.Fatalf("opened again: %+v, %v", again, err)
	}
	id, err := civiq.RotateReceiptKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := civiq.OpenReceiptKeys("", path)
	if err != nil || len(k2.Public()) != 2 || k2.Public()[0] != (civiq.ReceiptPublicKey{ID: k1.Public()[0].ID, Algorithm: "Ed25519",
		PublicKey: k1.Public()[0].PublicKey}) || k2.Public()[1].ID != id || !k2.Public()[1].Current {
		t.Errorf("after rotation: %+v, %v", k2.Public(), err)
	}
	env, err := civiq.OpenReceiptKeys(strings.Repeat("01", 32)+", "+strings.Repeat("02", 32), path)
	if err != nil || len(env.Public()) != 2 || env.Public()[1].ID != receiptKeys(t, 2).Public()[0].ID {
		t.Errorf("from the environment: %+v, %v", env, err)
	}
	if _, err := civiq.OpenReceiptKeys("not a key", path); err == nil {
		t.Error("a bad CIVIQ_RECEIPT_KEYS is taken")
	}
}

// FuzzReceipt: no input makes the decoder fail badly, and none verifies
// but the receipt the key signed (Ed25519 signs the same bytes the same
// way, so every fuzzing process knows it).
func FuzzReceipt(f *testing.F) {
	keys := receiptKeys(f, 1)
	signed, err := keys.SignReceipt(civiq.Receipt{Version: 1, Kind: civiq.ReceiptAccepted, Code: "ABCDEFGHJKMN", Number: "2026031200071234",
		HallID: "demo", Date: "2026-03-12", Promised: "2026-03-26", Applicant: "张*"})
	if err != nil || !keys.Check(signed).Valid {
		f.Fatal(signed, err)
	}
	f.Add(signed)
	f.Add("")
	f.Add(".")
	f.Add("e30.AAAA")
	f.Add(signed[:len(signed)/2])
	f.Fuzz(func(t *testing.T, payload string) {
		r, _, _, err := civiq.ParseReceipt(payload)
		if (err == nil) != (r != nil) {
			t.Fatalf("ParseReceipt(%q) = %v, %v", payload, r, err)
		}
		if ch := keys.Check(payload); ch.Valid && payload != signed {
			t.Fatalf("%q verifies", payload)
		}
	})
}
