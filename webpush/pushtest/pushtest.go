// Package pushtest stands in for a browser and its push service in tests:
// it makes a subscription's keys as a browser would, receives what an
// application server posts to the subscription's endpoint, checks its
// VAPID token and decrypts it with the browser's private key.
//
// Its decryption and token check are written apart from package webpush
// (HMAC by hand, not crypto/hkdf; the JWT read field by field), so that a
// test of webpush that passes through pushtest checks webpush against a
// second reading of RFC 8291, RFC 8188 and RFC 8292, not against itself.
package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

var b64 = base64.RawURLEncoding

// Browser is a subscriber's keys: the private key and the auth secret that
// a browser keeps, and the public half it gives in its subscription.
type Browser struct {
	Private *ecdh.PrivateKey
	Auth    []byte
}

// NewBrowser makes a browser's keys.
func NewBrowser() *Browser {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &Browser{Private: k, Auth: auth}
}

// P256dh and AuthKey are the subscription's keys as PushSubscription.toJSON
// writes them.
func (b *Browser) P256dh() string  { return b64.EncodeToString(b.Private.PublicKey().Bytes()) }
func (b *Browser) AuthKey() string { return b64.EncodeToString(b.Auth) }

// JSON is the subscription to endpoint as a browser's toJSON() gives it.
func (b *Browser) JSON(endpoint string) []byte {
	j, _ := json.Marshal(map[string]any{
		"endpoint":       endpoint,
		"expirationTime": nil,
		"keys":           map[string]string{"p256dh": b.P256dh(), "auth": b.AuthKey()},
	})
	return j
}

// Decrypt reads a push message's aes128gcm body as the browser does (RFC
// 8291 §3.4, RFC 8188): the header's salt, record size and the sender's
// key, the keys derived with HMAC-SHA-256 step by step, every record
// opened, the padding taken off.
func (b *Browser) Decrypt(body []byte) ([]byte, error) {
	return Decrypt(body, b.Private, b.Auth)
}

// Decrypt is Browser.Decrypt with the browser's keys given.
func Decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("shorter than the header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if rs < 18 {
		return nil, errors.New("record size below 18")
	}
	if len(body) < 21+idlen {
		return nil, errors.New("shorter than the key id")
	}
	asKey, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, fmt.Errorf("the key id is not the sender's P-256 key: %w", err)
	}
	shared, err := ua.ECDH(asKey)
	if err != nil {
		return nil, err
	}
	mac := func(key []byte, parts ...[]byte) []byte {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)
	}
	// RFC 8291 §3.4: PRK_key, then IKM (one block of HKDF-Expand).
	prkKey := mac(auth, shared)
	ikm := mac(prkKey, []byte("WebPush: info\x00"), ua.PublicKey().Bytes(), asKey.Bytes(), []byte{1})
	// RFC 8188 §2.2, §2.3.
	prk := mac(salt, ikm)
	cek := mac(prk, []byte("Content-Encoding: aes128gcm\x00"), []byte{1})[:16]
	nonce := mac(prk, []byte("Content-Encoding: nonce\x00"), []byte{1})[:12]
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	var out []byte
	rest := body[21+idlen:]
	for seq := uint64(0); ; seq++ {
		n := min(len(rest), int(rs))
		rec, last := rest[:n], n == len(rest)
		rest = rest[n:]
		iv := make([]byte, 12)
		copy(iv, nonce)
		for i := 0; i < 8; i++ {
			iv[11-i] ^= byte(seq >> (8 * i))
		}
		plain, err := gcm.Open(nil, iv, rec, nil)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", seq, err)
		}
		// Padding: zeros after the delimiter, 1 in a record before the
		// last, 2 in the last.
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		if i < 0 {
			return nil, fmt.Errorf("record %d has no delimiter", seq)
		}
		if want := map[bool]byte{false: 1, true: 2}[last]; plain[i] != want {
			return nil, fmt.Errorf("record %d: delimiter %d", seq, plain[i])
		}
		out = append(out, plain[:i]...)
		if last {
			return out, nil
		}
	}
}

// Token is what a VAPID Authorization header says once checked.
type Token struct {
	Audience string
	Expires  time.Time
	Subject  string
	Key      string // k, the server's public key
}

// CheckVAPID checks an Authorization header "vapid t=<jwt>, k=<key>" (RFC
// 8292): an ES256 JWT signed by k, for audience, expiring in the future but
// at most 24 hours after now.
func CheckVAPID(header, audience string, now time.Time) (*Token, error) {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return nil, errors.New("not the vapid scheme")
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return nil, errors.New("a parameter without =")
		}
		params[k] = v
	}
	jwt, key := params["t"], params["k"]
	pubBytes, err := b64.DecodeString(key)
	if err != nil {
		return nil, errors.New("k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pubBytes)
	if err != nil {
		return nil, fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("t is not a JWT")
	}
	var head struct{ Typ, Alg string }
	var claims struct {
		Aud string
		Exp int64
		Sub string
	}
	for i, v := range []any{&head, &claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			return nil, errors.New("JWT part not base64url")
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("JWT part: %w", err)
		}
	}
	if head.Alg != "ES256" {
		return nil, fmt.Errorf("alg %q", head.Alg)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("signature is not 64 bytes")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("bad signature")
	}
	exp := time.Unix(claims.Exp, 0)
	if claims.Aud != audience {
		return nil, fmt.Errorf("aud %q, want %q", claims.Aud, audience)
	}
	if !exp.After(now) || exp.After(now.Add(24*time.Hour)) {
		return nil, fmt.Errorf("exp %v is not within 24 hours of %v", exp, now)
	}
	return &Token{Audience: claims.Aud, Expires: exp, Subject: claims.Sub, Key: key}, nil
}

// Pushed is a message the service received, decrypted.
type Pushed struct {
	Path      string // of the endpoint
	Plaintext []byte
	TTL       string
	Urgency   string
	Topic     string
	Token     *Token
}

// Service is a push service on a local https address: endpoints are its
// URL plus a path (Endpoint). Each POST is checked (VAPID, headers) and
// decrypted with the keys of the browser subscribed at that path, and
// answered 201; a path marked Gone answers 410. A request it cannot read
// is answered 400 and kept in Errors.
type Service struct {
	*httptest.Server
	Now func() time.Time

	mu       sync.Mutex
	browsers map[string]*Browser
	gone     map[string]bool
	pushed   []Pushed
	errors   []string
	arrived  chan struct{}
}

// NewService starts a push service; it stops with Close.
func NewService() *Service {
	s := &Service{Now: time.Now, browsers: map[string]*Browser{}, gone: map[string]bool{}, arrived: make(chan struct{}, 1)}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Subscribe makes a browser subscribed at path and gives its keys and its
// subscription's JSON.
func (s *Service) Subscribe(path string) (*Browser, []byte) {
	b := NewBrowser()
	s.Add(path, b)
	return b, b.JSON(s.URL + path)
}

// Add makes b the browser subscribed at path.
func (s *Service) Add(path string, b *Browser) {
	s.mu.Lock()
	s.browsers[path] = b
	s.mu.Unlock()
}

// Gone makes the subscription at path expired: 410 from now on.
func (s *Service) Gone(path string) {
	s.mu.Lock()
	s.gone[path] = true
	s.mu.Unlock()
}

// Pushed is what was received so far, and Errors what could not be read.
func (s *Service) Pushed() []Pushed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Pushed(nil), s.pushed...)
}

// Errors are the requests the service refused, why.
func (s *Service) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

// Wait waits until n messages were received or the timeout passed, and
// gives those received.
func (s *Service) Wait(n int, timeout time.Duration) []Pushed {
	deadline := time.After(timeout)
	for {
		if p := s.Pushed(); len(p) >= n {
			return p
		}
		select {
		case <-s.arrived:
		case <-deadline:
			return s.Pushed()
		}
	}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	refuse := func(why string) {
		s.mu.Lock()
		s.errors = append(s.errors, r.URL.Path+": "+why)
		s.mu.Unlock()
		http.Error(w, why, http.StatusBadRequest)
	}
	s.mu.Lock()
	b, gone := s.browsers[r.URL.Path], s.gone[r.URL.Path]
	s.mu.Unlock()
	switch {
	case r.Method != http.MethodPost:
		refuse("method " + r.Method)
		return
	case b == nil:
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	case gone:
		http.Error(w, "subscription expired", http.StatusGone)
		return
	}
	tok, err := CheckVAPID(r.Header.Get("Authorization"), s.URL, s.Now())
	if err != nil {
		refuse("vapid: " + err.Error())
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		refuse("Content-Encoding " + r.Header.Get("Content-Encoding"))
		return
	}
	if _, err := strconv.Atoi(r.Header.Get("TTL")); err != nil {
		refuse("TTL " + r.Header.Get("TTL"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	if err != nil || len(body) > 4096 {
		refuse("body over 4096 bytes")
		return
	}
	plain, err := b.Decrypt(body)
	if err != nil {
		refuse("decrypt: " + err.Error())
		return
	}
	s.mu.Lock()
	s.pushed = append(s.pushed, Pushed{Path: r.URL.Path, Plaintext: plain, TTL: r.Header.Get("TTL"),
		Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic"), Token: tok})
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	w.Header().Set("Location", s.URL+"/message/"+strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusCreated)
}
