package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Subscription is what a browser gives when it subscribes, as
// PushSubscription.toJSON() writes it: where to post (the push service's
// URL for this browser) and the keys to encrypt for it.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	Keys     Keys   `json:"keys"`
}

// Keys are a subscription's keys, in unpadded base64url.
type Keys struct {
	P256dh string `json:"p256dh"` // the browser's P-256 public key, uncompressed (65 bytes)
	Auth   string `json:"auth"`   // the auth secret (16 bytes)
}

// Limits of a subscription as read.
const (
	// MaxSubscription bounds the JSON of a subscription: a browser's is
	// about 400 bytes.
	MaxSubscription = 4096
	// MaxEndpoint bounds an endpoint's URL; the push services' are about
	// 200 to 400 bytes.
	MaxEndpoint = 2048
)

// ParseSubscription reads a subscription's JSON (PushSubscription.toJSON()
// — its expirationTime and any other member are ignored) and checks it: an
// absolute https URL (the address it names is the sender's to check) and
// keys that decode to a point on P-256 and a 16-byte secret. Its Endpoint
// and Keys are then as read: Public and AuthSecret decode them.
func ParseSubscription(b []byte) (*Subscription, error) {
	if len(b) > MaxSubscription {
		return nil, errors.New("subscription too long")
	}
	var s Subscription
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil || dec.More() {
		return nil, errors.New("subscription is not the JSON of a push subscription")
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Check tells whether s may be used: see ParseSubscription.
func (s *Subscription) Check() error {
	if err := checkEndpoint(s.Endpoint); err != nil {
		return err
	}
	if _, err := s.Public(); err != nil {
		return err
	}
	if _, err := s.AuthSecret(); err != nil {
		return err
	}
	return nil
}

func checkEndpoint(endpoint string) error {
	if endpoint == "" || len(endpoint) > MaxEndpoint {
		return errors.New("subscription endpoint missing or too long")
	}
	u, err := url.Parse(endpoint)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errors.New("subscription endpoint is not an absolute URL")
	}
	if u.Scheme != "https" {
		return errors.New("subscription endpoint is not https")
	}
	for _, c := range endpoint {
		if c <= ' ' || c == 0x7f {
			return errors.New("subscription endpoint has a space or a control character")
		}
	}
	return nil
}

// decodeKey reads a key: browsers write them in unpadded base64url;
// padding is forgiven.
func decodeKey(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// Public is the browser's public key (keys.p256dh).
func (s *Subscription) Public() (*ecdh.PublicKey, error) {
	b, err := decodeKey(s.Keys.P256dh)
	if err != nil || len(b) != 65 {
		return nil, errors.New("subscription key p256dh is not a P-256 public key")
	}
	k, err := ecdh.P256().NewPublicKey(b)
	if err != nil {
		return nil, errors.New("subscription key p256dh is not a P-256 public key")
	}
	return k, nil
}

// AuthSecret is the subscription's auth secret (keys.auth).
func (s *Subscription) AuthSecret() ([]byte, error) {
	b, err := decodeKey(s.Keys.Auth)
	if err != nil || len(b) != AuthSize {
		return nil, errors.New("subscription key auth is not 16 bytes")
	}
	return b, nil
}
