// Package sso signs staff in through an identity platform (OpenID Connect,
// the authorization code flow with PKCE: github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2) or a directory (LDAP bind: github.com/go-ldap/ldap/v3).
// It says who signed in, a civiq.Identity; the domain (civiq's sso.go)
// decides their role and halls and opens the session.
package sso

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is an installation's identity platform: its settings
// (civiq.OIDCSettings, checked by NewOIDC) and the client that reaches it:
// by default outbound's guarded client with a 10 s timeout, which dials
// public addresses and the loopback, link-local and private ones Allow
// holds (civiq serve --oidc-allow; halls run on government intranets).
type OIDCConfig struct {
	civiq.OIDCSettings
	Allow []netip.Prefix
	HTTP  *http.Client
}

// OIDC signs people in through an identity platform. The platform's
// discovery document is read at the first sign-in (and again while it
// could not be), so civiq starts while the platform is away.
type OIDC struct {
	cfg    OIDCConfig
	scopes []string // with openid

	mu       sync.Mutex
	provider *oidc.Provider
}

// NewOIDC checks cfg and makes the platform's client.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if err := cfg.CheckAt(cfg.Allow); err != nil {
		return nil, err
	}
	if cfg.HTTP == nil {
		allow := cfg.Allow
		cfg.HTTP = outbound.GuardedClient(func() []netip.Prefix { return allow }, civiq.FlagOIDCAllow, outbound.Timeout)
	}
	o := &OIDC{cfg: cfg, scopes: cfg.Scopes}
	if !slices.Contains(o.scopes, oidc.ScopeOpenID) {
		o.scopes = append([]string{oidc.ScopeOpenID}, o.scopes...)
	}
	return o, nil
}

// Paths of the flow on this site (package web serves them).
const (
	StartPath    = "/login/oidc"
	CallbackPath = civiq.OIDCCallbackPath
)

// Name is what the sign-in button says; Roles the mapping.
func (o *OIDC) Name() string         { return o.cfg.Name }
func (o *OIDC) Roles() civiq.RoleMap { return o.cfg.RoleMap() }

// discover reads the platform's discovery document, once it has been read
// right.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.cfg.HTTP), o.cfg.Issuer)
	if err != nil {
		return nil, unreached(err)
	}
	o.provider = p
	return p, nil
}

// unreached is the error of a request to the platform that got no answer:
// the platform away, or at an address the guarded client refuses. Either
// is unavailable (503), as the directory's are (ldap.go): the sign-in
// cannot work until the platform answers or the operator allows its
// address, neither the person's doing (a 403 would say they may not, and
// count as their wrong attempt); a refusal names the address and the
// flag that allows it.
func unreached(err error) error {
	var re *outbound.RefusedError
	if errors.As(err, &re) {
		return civiq.Errorf(civiq.EUnavailable, "the identity platform's address %s is not allowed: loopback, link-local and private addresses need civiq serve %s", re.Addr, re.Flag)
	}
	return civiq.Errorf(civiq.EUnavailable, "the identity platform cannot be reached: %v", err)
}

func (o *OIDC) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: o.scopes}
}

// Flow is what a browser carries between the start of a sign-in and the
// platform's answer (in a cookie of its own): the state and nonce the
// answer must bring back, the PKCE verifier of the challenge sent, and the
// page to return to.
type Flow struct {
	State, Nonce, Verifier, Next string
}

// Encode writes f for the cookie.
func (f Flow) Encode() string {
	enc := base64.RawURLEncoding
	return strings.Join([]string{f.State, f.Nonce, f.Verifier, enc.EncodeToString([]byte(f.Next))}, ".")
}

// DecodeFlow reads a cookie Encode wrote.
func DecodeFlow(s string) (Flow, error) {
	parts := strings.Split(s, ".")
	if len(s) > 4096 || len(parts) != 4 {
		return Flow{}, errors.New("not a sign-in's cookie")
	}
	for _, p := range parts[:3] {
		if len(p) < 32 || len(p) > 128 || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~") != "" {
			return Flow{}, errors.New("not a sign-in's cookie")
		}
	}
	next, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return Flow{}, errors.New("not a sign-in's cookie")
	}
	return Flow{State: parts[0], Nonce: parts[1], Verifier: parts[2], Next: string(next)}, nil
}

// Begin starts a sign-in: the platform's address to send the browser to,
// and the flow to keep in its cookie.
func (o *OIDC) Begin(ctx context.Context, next string) (string, Flow, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{State: civiq.NewToken(), Nonce: civiq.NewToken(), Verifier: oauth2.GenerateVerifier(), Next: next}
	return o.oauth(p).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), f, nil
}

// Finish reads the platform's answer to the flow f: state must be f's,
// the code is exchanged with f's verifier, the ID token's signature,
// issuer, audience, expiry and nonce are checked, and the claims say who
// it is. A refusal of the platform, or an answer that does not belong to
// f, is EForbidden, a *Refusal; the platform away is EUnavailable.
func (o *OIDC) Finish(ctx context.Context, f Flow, q url.Values) (*civiq.Identity, error) {
	if e := q.Get("error"); e != "" {
		return nil, refuse(civiq.AuditSSOPlatformRefused, "the identity platform did not sign you in: %s %s", civiq.Clip(e, 60), civiq.Clip(q.Get("error_description"), 200))
	}
	if st := q.Get("state"); st == "" || subtle.ConstantTimeCompare([]byte(st), []byte(f.State)) != 1 {
		return nil, refuse(civiq.AuditSSOBadState, "this answer of the identity platform belongs to another sign-in: start again")
	}
	code := q.Get("code")
	if code == "" {
		return nil, refuse(civiq.AuditSSOBadCode, "the identity platform's answer has no code")
	}
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	hctx := oidc.ClientContext(ctx, o.cfg.HTTP)
	tok, err := o.oauth(p).Exchange(hctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, refuse(civiq.AuditSSOBadCode, "the identity platform refused the sign-in's code: %s", civiq.Clip(re.ErrorCode, 60))
		}
		return nil, unreached(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, refuse(civiq.AuditSSOBadToken, "the identity platform sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(hctx, raw)
	if err != nil {
		return nil, refuse(civiq.AuditSSOBadToken, "the identity platform's ID token is not valid: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, refuse(civiq.AuditSSOBadToken, "the ID token belongs to another sign-in (nonce): start again")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, refuse(civiq.AuditSSOBadToken, "the ID token's claims cannot be read: %v", err)
	}
	id, err := IdentityOf(civiq.SourceOIDC, claims, o.cfg.UsernameClaim, o.cfg.GroupsClaim)
	if err != nil {
		return nil, &Refusal{Audit: civiq.AuditSSOBadToken, Err: err}
	}
	return id, nil
}

// Refusal is an answer of the identity platform that signs nobody in
// (Finish): Err says why (forbidden), Audit names the audit event it is
// kept as (civiq.AuditSSOPlatformRefused, AuditSSOBadState,
// AuditSSOBadCode, AuditSSOBadToken; Engine.AuditExternal).
type Refusal struct {
	Audit string
	Err   error
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

func refuse(audit, format string, args ...any) error {
	return &Refusal{Audit: audit, Err: civiq.Errorf(civiq.EForbidden, format, args...)}
}

// IdentityOf reads an identity from claims: the username from one claim,
// the groups from another, a string or a list of strings (other values
// are ignored).
func IdentityOf(source string, claims map[string]any, usernameClaim, groupsClaim string) (*civiq.Identity, error) {
	name, _ := claims[usernameClaim].(string)
	if name == "" {
		return nil, civiq.Errorf(civiq.EForbidden, "the identity platform's token has no %s claim to name you by", usernameClaim)
	}
	id := &civiq.Identity{Source: source, Username: name}
	switch g := claims[groupsClaim].(type) {
	case string:
		id.Groups = []string{g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	return id, nil
}
