package civiq

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Signed receipts. When a case is accepted (受理回执) and when it is finished
// (办结 notice), civiq issues a receipt: what it states (its kind, the case
// number, the hall, the day, the promised date, the applicant's masked name
// and a short code), signed with Ed25519 by the
// installation's receipt key. The printed receipt carries the signed
// payload in a QR code and the short code as text; anyone can check either
// (Engine.VerifyReceipt, Engine.ReceiptByCode) against the public keys, and
// a payload with any byte changed fails. Keys rotate: a new key signs from
// then on, and the old ones stay to verify what they signed.

// Kinds of receipts.
const (
	ReceiptAccepted = CaseAccepted // 受理回执
	ReceiptFinished = CaseFinished // 办结通知书
)

// ReceiptCodeLength is the length of a receipt's short code (about 60
// bits, of the booking codes' alphabet).
const ReceiptCodeLength = 12

// NormalizeReceiptCode reads a receipt code as typed (case, spaces and
// dashes do not matter), or gives "".
func NormalizeReceiptCode(s string) string { return normalizeCode(s, ReceiptCodeLength) }

// Receipt is what a signed receipt states. It holds no personal data but
// the applicant's masked name.
type Receipt struct {
	Version   int    `json:"v"`
	Kind      string `json:"kind"`
	Code      string `json:"code"`
	Number    string `json:"number"` // the case number
	HallID    string `json:"hall"`
	Date      string `json:"date"` // the hall's day it was accepted or finished
	Promised  string `json:"promised,omitempty"`
	Applicant string `json:"applicant"` // masked: 张*
	KeyID     string `json:"kid"`
}

// maxReceiptPayload bounds a payload: a receipt signed by civiq is about
// 300 characters.
const maxReceiptPayload = 2048

// receiptEncoding writes both halves of a payload; strict, so that a
// payload has one spelling only.
var receiptEncoding = base64.RawURLEncoding.Strict()

// receiptContext is signed before the receipt's bytes, so that a signature
// of the key means nothing elsewhere.
const receiptContext = "civiq receipt v1\n"

func (r *Receipt) validate() error {
	switch {
	case r.Version != 1:
		return errors.New("unknown version")
	case r.Kind != ReceiptAccepted && r.Kind != ReceiptFinished:
		return errors.New("unknown kind")
	case NormalizeReceiptCode(r.Code) != r.Code:
		return errors.New("bad code")
	case !caseNumberPattern.MatchString(r.Number):
		return errors.New("bad case number")
	case !ValidID(r.HallID):
		return errors.New("bad hall")
	case !isDate(r.Date) || r.Promised != "" && !isDate(r.Promised):
		return errors.New("bad date")
	case r.KeyID == "" || len(r.KeyID) > 32:
		return errors.New("bad key id")
	case utf8.RuneCountInString(r.Applicant) > 60:
		return errors.New("text too long")
	}
	return nil
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// ParseReceipt reads a payload (the receipt's JSON and its signature, each
// in unpadded base64url, joined by a dot) without checking the signature.
func ParseReceipt(payload string) (r *Receipt, body, sig []byte, err error) {
	return parseSigned[Receipt](payload, maxReceiptPayload, "not a receipt")
}

// parseSigned reads a signed payload civiq writes (splitSigned) into a T
// of known fields only and checks what it states (its validate), without
// checking the signature; a payload it cannot read is the error notA.
func parseSigned[T any, P interface {
	*T
	validate() error
}](payload string, max int, notA string) (v P, body, sig []byte, err error) {
	body, sig, err = splitSigned(payload, max)
	if err != nil {
		return nil, nil, nil, errors.New(notA)
	}
	v = new(T)
	if err := decodeStrict(body, v); err != nil {
		return nil, nil, nil, errors.New(notA)
	}
	if err := v.validate(); err != nil {
		return nil, nil, nil, err
	}
	return v, body, sig, nil
}

// splitSigned reads a signed payload civiq writes (receipts, booking
// passes): a JSON body and an Ed25519 signature, each in unpadded
// base64url, joined by a dot, at most max characters.
func splitSigned(payload string, max int) (body, sig []byte, err error) {
	if len(payload) > max {
		return nil, nil, errors.New("too long")
	}
	for i := 0; i < len(payload); i++ {
		if c := payload[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, nil, errors.New("not a signed payload")
		}
	}
	b, s, ok := strings.Cut(payload, ".")
	if !ok {
		return nil, nil, errors.New("not a signed payload")
	}
	if body, err = receiptEncoding.DecodeString(b); err != nil {
		return nil, nil, errors.New("not a signed payload")
	}
	if sig, err = receiptEncoding.DecodeString(s); err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, errors.New("not a signed payload")
	}
	return body, sig, nil
}

// decodeStrict reads one JSON object of known fields only into v.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// ReceiptKeys are the installation's receipt keys, oldest first: the last
// signs, every one verifies. They sign receipts of cases and the passes of
// bookings (bookingpass.go). Keys made from public keys alone
// (PublicReceiptKeys, as an edge node holds its city's) verify and never
// sign.
type ReceiptKeys struct {
	keys []ed25519.PrivateKey // none when public only
	pubs []ed25519.PublicKey
}

// NewReceiptKeys makes the keys from their 32-byte seeds, oldest first.
func NewReceiptKeys(seeds ...[]byte) (*ReceiptKeys, error) {
	if len(seeds) == 0 {
		return nil, errors.New("no receipt key")
	}
	k := &ReceiptKeys{}
	for _, s := range seeds {
		if len(s) != ed25519.SeedSize {
			return nil, fmt.Errorf("a receipt key is %d bytes, not %d", ed25519.SeedSize, len(s))
		}
		priv := ed25519.NewKeyFromSeed(s)
		k.keys = append(k.keys, priv)
		k.pubs = append(k.pubs, priv.Public().(ed25519.PublicKey))
	}
	return k, nil
}

// PublicReceiptKeys makes keys that only verify, from a list as
// Public (and GET /.well-known/civiq-receipt-keys) gives it.
func PublicReceiptKeys(list []ReceiptPublicKey) (*ReceiptKeys, error) {
	if len(list) == 0 {
		return nil, errors.New("no receipt key")
	}
	k := &ReceiptKeys{}
	for _, p := range list {
		pub, err := receiptEncoding.DecodeString(p.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize || p.Algorithm != "Ed25519" {
			return nil, fmt.Errorf("receipt key %q is no Ed25519 public key", p.ID)
		}
		if receiptKeyID(pub) != p.ID {
			return nil, fmt.Errorf("receipt key %q: its id does not match the key", p.ID)
		}
		k.pubs = append(k.pubs, pub)
	}
	return k, nil
}

// CanSign reports whether the keys hold a private key.
func (k *ReceiptKeys) CanSign() bool { return k != nil && len(k.keys) > 0 }

// receiptKeyID names a public key: the first 8 hex digits of its SHA-256.
func receiptKeyID(pub []byte) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:4])
}

// ReceiptPublicKey is a public key as GET /api/v1/receipts/keys gives it.
type ReceiptPublicKey struct {
	ID        string `json:"id"`
	Algorithm string `json:"alg"`        // Ed25519
	PublicKey string `json:"public_key"` // 32 bytes, unpadded base64url
	Current   bool   `json:"current"`    // the key that signs now
}

// Public lists the public keys, oldest first.
func (k *ReceiptKeys) Public() []ReceiptPublicKey {
	out := make([]ReceiptPublicKey, len(k.pubs))
	for i, pub := range k.pubs {
		out[i] = ReceiptPublicKey{ID: receiptKeyID(pub), Algorithm: "Ed25519", PublicKey: receiptEncoding.EncodeToString(pub), Current: i == len(k.pubs)-1}
	}
	return out
}

// currentKeyID names the key that signs now.
func (k *ReceiptKeys) currentKeyID() string { return receiptKeyID(k.pubs[len(k.pubs)-1]) }

// signBody signs body after context (so that a signature means nothing
// elsewhere) with the current key and gives the payload.
func (k *ReceiptKeys) signBody(context string, body []byte) (string, error) {
	if !k.CanSign() {
		return "", errors.New("these keys only verify")
	}
	sig := ed25519.Sign(k.keys[len(k.keys)-1], append([]byte(context), body...))
	return receiptEncoding.EncodeToString(body) + "." + receiptEncoding.EncodeToString(sig), nil
}

// verifyBody checks a signature of body after context by the key kid:
// "" when it holds, else ReceiptUnknownKey or ReceiptBadSignature.
func (k *ReceiptKeys) verifyBody(context, kid string, body, sig []byte) string {
	for _, pub := range k.pubs {
		if receiptKeyID(pub) != kid {
			continue
		}
		if !ed25519.Verify(pub, append([]byte(context), body...), sig) {
			return ReceiptBadSignature
		}
		return ""
	}
	return ReceiptUnknownKey
}

// sign signs r with the current key (setting r.KeyID) and gives its
// payload.
func (k *ReceiptKeys) sign(r *Receipt) (string, error) {
	if !k.CanSign() {
		return "", errors.New("receipt: these keys only verify")
	}
	r.KeyID = k.currentKeyID()
	if err := r.validate(); err != nil {
		return "", fmt.Errorf("receipt: %w", err)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return k.signBody(receiptContext, body)
}

// Reasons a receipt does not verify.
const (
	ReceiptMalformed    = "malformed"     // not a receipt civiq could have written
	ReceiptUnknownKey   = "unknown_key"   // signed by no key of this installation
	ReceiptBadSignature = "bad_signature" // changed after it was signed, or forged
)

// ReceiptCheck is the answer to "is this receipt genuine and unchanged?".
type ReceiptCheck struct {
	Valid  bool   `json:"valid"`
	Reason string `json:"reason,omitempty"` // why not
	// Receipt is what a valid receipt states; the hall's names are looked
	// up, not signed.
	Receipt    *Receipt `json:"receipt,omitempty"`
	HallName   string   `json:"hall_name,omitempty"`
	HallNameEn string   `json:"hall_name_en,omitempty"`
	// Payload is the receipt found by its short code.
	Payload string `json:"payload,omitempty"`
}

// HallNameIn is the name of the receipt's hall in lang, the English one if
// there is one.
func (c *ReceiptCheck) HallNameIn(lang string) string {
	name, _ := inLang(lang, c.HallName, c.HallNameEn)
	return name
}

// Check verifies a payload against every key.
func (k *ReceiptKeys) Check(payload string) ReceiptCheck {
	r, body, sig, err := ParseReceipt(payload)
	if err != nil {
		return ReceiptCheck{Reason: ReceiptMalformed}
	}
	if reason := k.verifyBody(receiptContext, r.KeyID, body, sig); reason != "" {
		return ReceiptCheck{Reason: reason}
	}
	return ReceiptCheck{Valid: true, Receipt: r}
}

// EnvReceiptKeys is the environment variable that holds the receipt keys:
// 32-byte seeds (64 hex digits or base64), oldest first, separated by
// commas or spaces; the last signs.
const EnvReceiptKeys = "CIVIQ_RECEIPT_KEYS"

// OpenReceiptKeys makes the receipt keys of a server: those of envValue
// (the value of CIVIQ_RECEIPT_KEYS) when set, else those of keyFile, one
// seed a line, oldest first, which is created with one new key (mode 0600)
// when it does not exist. Lose the file and receipts already printed no
// longer verify: back it up apart from the database.
func OpenReceiptKeys(envValue, keyFile string) (*ReceiptKeys, error) {
	src := envValue
	if src == "" {
		var err error
		if src, err = keyFileText(keyFile); err != nil { // idnumber.go
			return nil, err
		}
	}
	var seeds [][]byte
	for _, f := range strings.FieldsFunc(src, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		seed, err := ParseSecretKey(f)
		if err != nil {
			return nil, fmt.Errorf("receipt keys: %w", err)
		}
		seeds = append(seeds, seed)
	}
	return NewReceiptKeys(seeds...)
}

// RotateReceiptKey adds a new key to the end of keyFile (creating it when
// needed): once the servers start again it signs, and the keys before it
// only verify. It returns the new key's id.
func RotateReceiptKey(keyFile string) (string, error) {
	if _, err := OpenReceiptKeys("", keyFile); err != nil {
		return "", err
	}
	seed, err := newKeyBytes()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := f.WriteString(hex.EncodeToString(seed) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", fmt.Errorf("write the receipt key file %s: %w", keyFile, err)
	}
	return receiptKeyID(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)), nil
}

// ReceiptTx is what a store keeps of receipts (sqlstore/receipts.go).
type ReceiptTx interface {
	InsertReceipt(r *StoredReceipt) error
	// StoredReceipt finds a receipt by its code (not_found).
	StoredReceipt(code string) (*StoredReceipt, error)
	// LastReceiptCode is the code of a case's newest receipt, "" if none.
	LastReceiptCode(caseID int64) (string, error)
	// Receipts lists a case's receipts, oldest first.
	Receipts(caseID int64) ([]StoredReceipt, error)
}

// StoredReceipt is a receipt as issued.
type StoredReceipt struct {
	Code     string
	CaseID   int64
	Kind     string
	Payload  string
	IssuedAt time.Time
}

// issueReceipt signs and keeps a receipt of the case, now accepted or
// finished, and makes it the case's receipt. Without receipt keys there is
// none.
func (e *Engine) issueReceipt(tx Tx, c *Case, kind string, now time.Time) error {
	if e.Receipts == nil {
		return nil
	}
	loc, err := e.location(tx, c.HallID)
	if err != nil {
		return err
	}
	r := Receipt{Version: 1, Kind: kind, Code: randomCode(ReceiptCodeLength), Number: c.Number, HallID: c.HallID,
		Date: Date(now, loc).Format(time.DateOnly), Applicant: MaskName(c.Applicant.Name)}
	if kind == ReceiptAccepted {
		r.Promised = c.PromisedDate
	}
	payload, err := e.Receipts.sign(&r)
	if err != nil {
		return err
	}
	if err := tx.InsertReceipt(&StoredReceipt{Code: r.Code, CaseID: c.ID, Kind: kind, Payload: payload, IssuedAt: now}); err != nil {
		return err
	}
	c.ReceiptCode = r.Code
	return nil
}

// needReceipts reports a server set up without receipt keys.
func (e *Engine) needReceipts() error {
	if e.Receipts == nil {
		return Errorf(EUnavailable, "receipts are not available: the server has no receipt key")
	}
	return nil
}

// ReceiptKeyList gives the public keys that verify receipts, oldest first.
func (e *Engine) ReceiptKeyList() ([]ReceiptPublicKey, error) {
	if err := e.needReceipts(); err != nil {
		return nil, err
	}
	return e.Receipts.Public(), nil
}

// VerifyReceipt answers whether a receipt's payload is genuine and
// unchanged, and what a genuine one states.
func (e *Engine) VerifyReceipt(ctx context.Context, payload string) (*ReceiptCheck, error) {
	if err := e.needReceipts(); err != nil {
		return nil, err
	}
	payload = strings.TrimSpace(payload)
	if payload == "" {
		return nil, FieldErrorf("payload", "give the receipt's payload or its code")
	}
	if len(payload) > maxReceiptPayload {
		return nil, FieldErrorf("payload", "a receipt's payload is at most %d characters", maxReceiptPayload)
	}
	check := e.Receipts.Check(payload)
	if check.Valid {
		if err := e.nameHall(ctx, &check); err != nil {
			return nil, err
		}
	}
	return &check, nil
}

// ReceiptByCode finds a receipt by its short code and verifies it: an
// unknown code is not_found.
func (e *Engine) ReceiptByCode(ctx context.Context, code string) (*ReceiptCheck, error) {
	if err := e.needReceipts(); err != nil {
		return nil, err
	}
	c := NormalizeReceiptCode(code)
	if c == "" {
		return nil, FieldErrorf("code", "a receipt code is %d letters and digits", ReceiptCodeLength)
	}
	var stored *StoredReceipt
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		stored, err = tx.StoredReceipt(c)
		return err
	})
	if err != nil {
		if IsNotFound(err) {
			return nil, Errorf(ENotFound, "no receipt with this code")
		}
		return nil, err
	}
	check := e.Receipts.Check(stored.Payload)
	check.Payload = stored.Payload
	if check.Valid {
		if err := e.nameHall(ctx, &check); err != nil {
			return nil, err
		}
	}
	return &check, nil
}

// nameHall adds the hall's names to a valid receipt's check.
func (e *Engine) nameHall(ctx context.Context, check *ReceiptCheck) error {
	return e.store.View(ctx, func(tx Tx) error {
		h, err := tx.Hall(check.Receipt.HallID)
		if IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		check.HallName, check.HallNameEn = h.Name, h.NameEn
		return nil
	})
}
