package civiq

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Mainland resident ID numbers (居民身份证号码, GB 11643): 17 digits (a
// 6-digit region code, the birth date YYYYMMDD and a 3-digit sequence) and
// a check character, a digit or X. A booking is made in a person's real name
// with this number; civiq keeps it encrypted and shows it only masked.

// idWeights are the GB 11643 weights of the first 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars indexes the check character by the weighted sum mod 11.
const idCheckChars = "10X98765432"

// IDCheckChar returns the check character of the first 17 digits of an ID
// number, or 0 when first17 is not 17 ASCII digits.
func IDCheckChar(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

func invalidID(format string, args ...any) error {
	return &Error{Code: EInvalidIDNumber, Field: "id_number", Message: fmt.Sprintf(format, args...)}
}

// ParseIDNumber checks a mainland ID number and returns it in its one
// written form: 18 characters, a final x made X. Spaces around it are
// ignored. It checks the length, the digits, the birth date (a real day,
// 1800 or later) and the check character.
func ParseIDNumber(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 18 {
		return "", invalidID("the ID number must be 18 characters: 17 digits and a digit or X")
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", invalidID("the ID number must be 17 digits and a digit or X")
		}
	}
	if s[0] == '0' {
		return "", invalidID("the ID number does not start with a region code")
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil || birth.Year() < 1800 {
		return "", invalidID("the ID number holds no valid birth date")
	}
	if IDCheckChar(s[:17]) != s[17] {
		return "", invalidID("the ID number's check character is wrong: please check the number")
	}
	return s, nil
}

// MaskIDNumber shows an ID number as 110***********1234: the first 3 and
// the last 4 characters. Anything shorter than 8 characters is all stars.
func MaskIDNumber(id string) string {
	if len(id) < 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:3] + strings.Repeat("*", len(id)-7) + id[len(id)-4:]
}

// MaskName shows a name as 张* (张三), 张** (张三丰): the first character
// and a star for each other one.
func MaskName(name string) string {
	n := utf8.RuneCountInString(name)
	if n == 0 {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(name)
	return string(r) + strings.Repeat("*", max(n-1, 1))
}

// Last4 is the last 4 characters of an ID number, as a citizen types them
// at check-in (a final x made X).
func Last4(id string) string {
	id = strings.ToUpper(strings.TrimSpace(id))
	if len(id) < 4 {
		return id
	}
	return id[len(id)-4:]
}

// Sealer keeps personal data at rest: it encrypts with AES-256-GCM and
// derives keyed hashes (HMAC-SHA-256) that find a person's bookings without
// decrypting anything. Its key comes from CIVIQ_SECRET_KEY or from a key
// file beside the database (OpenSealer).
type Sealer struct {
	aead    cipher.AEAD
	hashKey []byte
}

// SecretKeySize is the length of the key in bytes.
const SecretKeySize = 32

// NewSealer returns a sealer with a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes, not %d", SecretKeySize, len(key))
	}
	// Separate keys for encryption and hashing, both from the one secret.
	encKey := deriveKey(key, "civiq seal v1")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, hashKey: deriveKey(key, "civiq person v1")}, nil
}

func deriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// sealPrefix marks the format of sealed text, so that it may change.
const sealPrefix = "v1:"

// Seal encrypts s; the result is text (a random nonce and the ciphertext,
// base64). The empty string seals to the empty string.
func (s *Sealer) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), nil)
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts what Seal gave.
func (s *Sealer) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("sealed text of an unknown format")
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("sealed text is damaged")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", errors.New("sealed text does not open with this key")
	}
	return string(plain), nil
}

// seal is personal data as the store keeps it: sealed when the engine has
// a Sealer, else as given.
func (e *Engine) seal(plain string) string {
	if e.Sealer == nil {
		return plain
	}
	return e.Sealer.Seal(plain)
}

// unseal opens in place each value that seal sealed; values stored in
// clear (before they were sealed, or without a key) stay as they are.
func (e *Engine) unseal(values ...*string) error {
	for _, p := range values {
		if !strings.HasPrefix(*p, sealPrefix) {
			continue
		}
		if e.Sealer == nil {
			return Errorf(EUnavailable, "personal data is encrypted and the server has no secret key")
		}
		v, err := e.Sealer.Open(*p)
		if err != nil {
			// A wrong key is the server's setting, not a failure of the
			// request: most often a database restored or moved without
			// its key file (or another node's CIVIQ_SECRET_KEY).
			return Errorf(EUnavailable, "personal data does not open (%v): the server's secret key, CIVIQ_SECRET_KEY or the key file beside the database, is not the one it was sealed with", err)
		}
		*p = v
	}
	return nil
}

// Hash is a keyed hash of a value of a kind ("id", "phone"): the same
// value always gives the same hash under one key, and nobody without the
// key can tell the value from it.
func (s *Sealer) Hash(kind, value string) string {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// EnvSecretKey is the environment variable that holds the secret key: 64
// hex digits, or 32 bytes in base64.
const EnvSecretKey = "CIVIQ_SECRET_KEY"

// ParseSecretKey reads a key written as 64 hex digits or as base64.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == SecretKeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == SecretKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a secret key is %d bytes written as 64 hex digits or in base64", SecretKeySize)
}

// OpenSealer makes the sealer of a server: the key in envValue (the value
// of CIVIQ_SECRET_KEY) when set, else the key in keyFile, which is created
// with a new random key (mode 0600) when it does not exist. Lose the key and
// the ID numbers, names and phones of bookings can no longer be read, and
// the limits and strikes of the people who booked start afresh: back it up
// with the database, apart from it.
func OpenSealer(envValue, keyFile string) (*Sealer, error) {
	key, err := OpenKey(EnvSecretKey, envValue, keyFile)
	if err != nil {
		return nil, err
	}
	return NewSealer(key)
}

// OpenKey reads a server's key of SecretKeySize bytes: the value envValue
// of the environment variable envName when set, else the content of
// keyFile, which is created with a new random key (mode 0600) when it does
// not exist. Each is 64 hex digits or base64 (ParseSecretKey).
func OpenKey(envName, envValue, keyFile string) ([]byte, error) {
	if envValue != "" {
		key, err := ParseSecretKey(envValue)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envName, err)
		}
		return key, nil
	}
	text, err := keyFileText(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := ParseSecretKey(text)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", keyFile, err)
	}
	return key, nil
}

// newKeyBytes is a new random key of SecretKeySize bytes.
func newKeyBytes() ([]byte, error) {
	key := make([]byte, SecretKeySize)
	_, err := rand.Read(key)
	return key, err
}

// keyFileText reads a key file, made first (mode 0600, a new random key in
// hex) when it does not exist.
func keyFileText(keyFile string) (string, error) {
	b, err := os.ReadFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		key, err := createKeyFile(keyFile)
		if errors.Is(err, os.ErrExist) {
			return keyFileText(keyFile) // another process made it first
		}
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(key), nil
	}
	if err != nil {
		return "", fmt.Errorf("read the key file %s: %w", keyFile, err)
	}
	return string(b), nil
}

// createKeyFile makes a key file that did not exist (os.ErrExist when it
// does), mode 0600, holding a new random key in hex, and gives the key.
func createKeyFile(keyFile string) ([]byte, error) {
	key, err := newKeyBytes()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("create the key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(keyFile)
		return nil, fmt.Errorf("write the key file %s: %w", keyFile, err)
	}
	return key, nil
}
