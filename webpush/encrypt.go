// Package webpush sends Web Push messages (RFC 8030) to a browser's push
// subscription: the message encrypted for the browser alone (RFC 8291, the
// aes128gcm content coding of RFC 8188) and the request signed with the
// installation's VAPID key (RFC 8292), so that the push service knows who
// sends. Standard library only.
//
// What a browser gives when it subscribes (PushSubscription.toJSON()) is
// read by ParseSubscription; Encrypt makes the body; VAPID signs; Client
// posts it and tells what the push service answered (201 sent, 404 or 410
// the subscription is gone for good).
package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of RFC 8291's message.
const (
	// recordSize is the rs of the aes128gcm header: the one record a push
	// message has fits in it.
	recordSize = 4096
	// headerSize is the aes128gcm header with the sender's public key as
	// its key id: salt (16), rs (4), idlen (1), key (65).
	headerSize = 16 + 4 + 1 + 65
	// MaxPayload is the most plaintext a message carries: push services
	// need take no more than 4096 bytes of body, which is the header, the
	// plaintext, the padding delimiter (1) and the tag (16) (RFC 8291 §4).
	MaxPayload = recordSize - headerSize - 1 - 16
	// AuthSize is the length of a subscription's auth secret.
	AuthSize = 16
)

// ErrTooLong is the error of a payload longer than MaxPayload.
var ErrTooLong = fmt.Errorf("webpush: a payload is at most %d bytes", MaxPayload)

// Encrypt encrypts plaintext for the browser whose subscription keys are
// uaPublic (keys.p256dh, an uncompressed P-256 point) and auth (keys.auth,
// 16 bytes), with a new key pair and salt of its own: the body of a push
// message with Content-Encoding aes128gcm.
func Encrypt(plaintext []byte, uaPublic *ecdh.PublicKey, auth []byte) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return encrypt(plaintext, uaPublic, auth, as, salt)
}

// encrypt is Encrypt with the sender's key pair as and the salt given (the
// RFC's example fixes both).
func encrypt(plaintext []byte, ua *ecdh.PublicKey, auth []byte, as *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, ErrTooLong
	}
	if len(auth) != AuthSize || len(salt) != 16 {
		return nil, errors.New("webpush: bad auth secret or salt")
	}
	if ua.Curve() != ecdh.P256() {
		return nil, errors.New("webpush: the browser's key is not on P-256")
	}
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, err
	}
	asPublic := as.PublicKey().Bytes()
	// The input key of the content coding mixes the shared secret with
	// the auth secret and both public keys (RFC 8291 §3.3).
	keyInfo := "WebPush: info\x00" + string(ua.Bytes()) + string(asPublic)
	ikm, err := hkdf.Key(sha256.New, shared, auth, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 §2.2 and §2.3: the content key and the nonce.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerSize, headerSize+len(plaintext)+1+gcm.Overhead())
	copy(out, salt)
	binary.BigEndian.PutUint32(out[16:], recordSize)
	out[20] = byte(len(asPublic))
	copy(out[21:], asPublic)
	// One record, the last: the plaintext and the delimiter 2, no padding.
	// The record's sequence number is 0, so the nonce is used as it is.
	record := make([]byte, len(plaintext)+1)
	copy(record, plaintext)
	record[len(plaintext)] = 2
	return gcm.Seal(out, nonce, record, nil), nil
}
