// Package oidctest is a small OpenID Connect provider for tests, a real
// HTTP server: discovery, a JWKS with one RSA key, an authorization page
// with a sign-in form (a browser fills it in), and a token endpoint that
// checks the client's secret, the redirect URI and the PKCE verifier
// (S256) and issues RS256 ID tokens carrying the nonce, the username and
// the groups of the user who signed in. Written for civiq's tests, on the
// standard library only.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is someone the provider signs in.
type User struct {
	Password string
	Groups   []string
}

// Provider is a running provider. Its fields may be changed before a
// sign-in.
type Provider struct {
	URL          string // the issuer
	ClientID     string
	ClientSecret string
	Users        map[string]User // by username
	// Tamper, when set, changes the claims of the next ID tokens (a wrong
	// nonce, audience, issuer…), for tests of the checks.
	Tamper func(claims map[string]any)

	srv    *httptest.Server
	key    *rsa.PrivateKey // published in the JWKS
	signer *rsa.PrivateKey // signs the ID tokens: key, unless SignWith

	mu    sync.Mutex
	codes map[string]grant
	// Tokens counts the codes exchanged.
	Tokens int
}

// grant is an authorization code's request.
type grant struct {
	username, clientID, redirectURI, challenge, nonce string
	at                                                time.Time
}

// New starts a provider with one client; it stops when t ends.
func New(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, Users: map[string]User{}, key: key, signer: key, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

var page = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test identity platform</title></head>
<body><main><h1>Test identity platform</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/authorize">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label for="u">Username</label><input id="u" name="username">
<label for="p">Password</label><input id="p" name="password" type="password">
<button type="submit">Sign in at the platform</button>
</form></main></body></html>`))

// check reads an authorization request, or says what is wrong with it.
func (p *Provider) check(q url.Values) string {
	switch {
	case q.Get("client_id") != p.ClientID:
		return "unknown client"
	case q.Get("response_type") != "code":
		return "response_type must be code"
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		return "scope must hold openid"
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		return "PKCE with S256 is required"
	case q.Get("state") == "" || q.Get("nonce") == "":
		return "state and nonce are required"
	case q.Get("redirect_uri") == "":
		return "redirect_uri is required"
	}
	return ""
}

func (p *Provider) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := p.check(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	page.Execute(w, map[string]any{"Query": q})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	name, pw := f.Get("username"), f.Get("password")
	f.Del("username")
	f.Del("password")
	if msg := p.check(f); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	back, err := url.Parse(f.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("state", f.Get("state"))
	p.mu.Lock()
	u, ok := p.Users[name]
	p.mu.Unlock()
	switch {
	case name == "deny":
		bq.Set("error", "access_denied")
		bq.Set("error_description", "the user said no")
	case !ok || subtle.ConstantTimeCompare([]byte(u.Password), []byte(pw)) != 1:
		w.WriteHeader(http.StatusUnauthorized)
		page.Execute(w, map[string]any{"Query": f, "Error": "wrong username or password"})
		return
	default:
		code := b64(randomBytes(24))
		p.mu.Lock()
		p.codes[code] = grant{username: name, clientID: f.Get("client_id"), redirectURI: f.Get("redirect_uri"),
			challenge: f.Get("code_challenge"), nonce: f.Get("nonce"), at: time.Now()}
		p.mu.Unlock()
		bq.Set("code", code)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "wrong client credentials")
		return
	}
	p.mu.Lock()
	g, ok := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code")) // a code is good once
	u := p.Users[g.username]
	tamper := p.Tamper
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case f.Get("grant_type") != "authorization_code":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	case !ok || time.Since(g.at) > time.Minute || g.clientID != id:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case f.Get("redirect_uri") != g.redirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs")
		return
	case b64(sum[:]) != g.challenge:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verifier does not match")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": p.URL, "aud": p.ClientID, "sub": "sub-" + g.username, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": g.nonce, "preferred_username": g.username, "groups": u.Groups,
	}
	if tamper != nil {
		tamper(claims)
	}
	idToken, err := p.sign(claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	p.mu.Lock()
	p.Tokens++
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": b64(randomBytes(24)), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// sign makes a compact JWS (RS256) of claims.
func (p *Provider) sign(claims map[string]any) (string, error) {
	h, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test-key"})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	p.mu.Lock()
	key := p.signer
	p.mu.Unlock()
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return input + "." + b64(sig), nil
}

// SignWith makes p sign its ID tokens with other's key, which p does not
// publish: tokens a client must refuse.
func (p *Provider) SignWith(other *Provider) {
	p.mu.Lock()
	p.signer = other.key
	p.mu.Unlock()
}
