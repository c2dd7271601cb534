package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"sync"
	"time"
)

// VAPID is an application server's key pair (RFC 8292): the browser
// subscribes with its public key (applicationServerKey), and every message
// to that subscription carries a token signed by its private key, so that
// only this installation can send to it. One installation has one pair,
// made on first start and kept like the receipt keys: lose it and every
// browser must subscribe again.
type VAPID struct {
	key     *ecdsa.PrivateKey
	pub     string // uncompressed point, unpadded base64url
	subject string

	mu     sync.Mutex
	tokens map[string]vapidToken // by audience
}

type vapidToken struct {
	header string
	exp    time.Time
}

// VAPIDKeySize is the length of a VAPID private key: a P-256 scalar.
const VAPIDKeySize = 32

// Lifetimes of a token: made for tokenLife (RFC 8292 allows 24 hours at
// most), used again until less than tokenReuse of it is left.
const (
	tokenLife  = 12 * time.Hour
	tokenReuse = 1 * time.Hour
	maxTokens  = 64 // audiences remembered: one per push service
)

var b64 = base64.RawURLEncoding

// NewVAPID makes the pair from its private key: 32 bytes, a P-256 scalar,
// as `web-push generate-vapid-keys` and others write it (in base64url).
// subject is whom the push services may contact about the messages (the
// tokens' sub: a mailto: or https: URL; "" for none, which Apple's push
// service refuses).
func NewVAPID(private []byte, subject string) (*VAPID, error) {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), private)
	if err != nil {
		return nil, errors.New("webpush: the VAPID key is not a P-256 private key (32 bytes, less than the curve's order)")
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	return &VAPID{key: k, pub: b64.EncodeToString(pub), subject: subject, tokens: map[string]vapidToken{}}, nil
}

// PublicKey is the public key as a browser's pushManager.subscribe takes
// it (applicationServerKey) and as the k of the Authorization header: the
// uncompressed point in unpadded base64url.
func (v *VAPID) PublicKey() string { return v.pub }

// Audience is what a token for endpoint is good for: the push service's
// origin (RFC 8292 §2).
func Audience(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("webpush: the endpoint is not an absolute URL")
	}
	return u.Scheme + "://" + u.Host, nil
}

// Authorization is the Authorization header of a message to endpoint at
// the time now: "vapid t=<token>, k=<public key>", the token an ES256 JWT
// of the push service's origin, expiring 12 hours after it was made. A
// token is used again while it has an hour left.
func (v *VAPID) Authorization(endpoint string, now time.Time) (string, error) {
	aud, err := Audience(endpoint)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if t, ok := v.tokens[aud]; ok && now.Add(tokenReuse).Before(t.exp) {
		return t.header, nil
	}
	exp := now.Add(tokenLife).Truncate(time.Second)
	jwt, err := v.sign(aud, exp)
	if err != nil {
		return "", err
	}
	if len(v.tokens) >= maxTokens {
		clear(v.tokens)
	}
	h := "vapid t=" + jwt + ", k=" + v.pub
	v.tokens[aud] = vapidToken{header: h, exp: exp}
	return h, nil
}

// sign makes the JWT: header and claims in unpadded base64url, and the
// ES256 signature of both (r and s, 32 bytes each, RFC 7518 §3.4).
func (v *VAPID) sign(aud string, exp time.Time) (string, error) {
	claims := struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub,omitempty"`
	}{aud, exp.Unix(), v.subject}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + b64.EncodeToString(body)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, v.key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}
