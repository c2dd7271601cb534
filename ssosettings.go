package civiq

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Single sign-on's settings (issue 17): the identity platform (OIDC) and
// the directory (LDAP) an installation signs its staff in through. An
// admin sets them (PUT /api/v1/sso, the admin page), kept in the store
// with their secrets sealed; the server's flags and environment (civiq
// serve --oidc-…, --ldap-…) are the settings in force while no admin has
// set any, and an admin's, once set, win over them. They take effect at
// once on this node, and within cacheTTL on the others.

// OIDCCallbackPath is this site's callback of the identity platform
// (package sso serves it): a redirect URL ends with it.
const OIDCCallbackPath = "/login/oidc/callback"

// OIDCSettings are the identity platform's (OpenID Connect).
type OIDCSettings struct {
	// Name is what the sign-in button says (省统一身份认证平台).
	Name string `json:"name"`
	// Issuer is the platform's issuer URL: https, or http on the
	// machine itself (localhost, for tests).
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is write-only: never answered back (ClientSecretSet
	// instead); a change that leaves it empty keeps the one in force for
	// the same issuer, unless ClearClientSecret (a public client, PKCE
	// alone).
	ClientSecret      string `json:"client_secret,omitempty"`
	ClientSecretSet   bool   `json:"client_secret_set"`
	ClearClientSecret bool   `json:"clear_client_secret,omitempty"`
	// RedirectURL is this site's callback as registered at the platform:
	// https://civiq.example.gov.cn/login/oidc/callback.
	RedirectURL string   `json:"redirect_url"`
	Scopes      []string `json:"scopes"` // asked besides openid
	// UsernameClaim names the ID token's claim that is the civiq
	// username (preferred_username); GroupsClaim the one whose values
	// Roles maps (groups).
	UsernameClaim string `json:"username_claim"`
	GroupsClaim   string `json:"groups_claim"`
	// Roles maps the claim's values to roles and halls, as ParseRoleMap
	// reads it.
	Roles string `json:"roles"`

	roles RoleMap // Roles, read by Check
}

// LDAPSettings are the directory's.
type LDAPSettings struct {
	// URL is ldap://host[:389] or ldaps://host[:636]; StartTLS upgrades
	// an ldap:// connection before any password goes.
	URL      string `json:"url"`
	StartTLS bool   `json:"starttls"`
	// BindDN is the person's DN with {username} in it; or the person is
	// found under Base by Filter ({username} in it), searched as
	// SearchDN (anonymously when empty) with SearchPassword, write-only
	// as OIDCSettings.ClientSecret (kept for the same URL).
	BindDN              string `json:"bind_dn"`
	Base                string `json:"base"`
	Filter              string `json:"filter"`
	SearchDN            string `json:"search_dn"`
	SearchPassword      string `json:"search_password,omitempty"`
	SearchPasswordSet   bool   `json:"search_password_set"`
	ClearSearchPassword bool   `json:"clear_search_password,omitempty"`
	// UsernameAttr is the entry's attribute that is the civiq username
	// (uid); the groups are GroupAttr's values (memberOf) and the
	// entries under GroupBase that GroupFilter finds ((member={dn})).
	UsernameAttr string `json:"username_attr"`
	GroupAttr    string `json:"group_attr"`
	GroupBase    string `json:"group_base"`
	GroupFilter  string `json:"group_filter"`
	// Roles maps the groups to roles and halls, as ParseRoleMap reads it.
	Roles string `json:"roles"`

	roles RoleMap
}

// SSOSettings are an installation's single sign-on: either part nil when
// not set up.
type SSOSettings struct {
	OIDC *OIDCSettings `json:"oidc"`
	LDAP *LDAPSettings `json:"ldap"`
	// Source, when read: where the settings in force come from, SSOStore
	// (an admin set them) or SSOFlags (the server's flags), "" for none.
	Source    string     `json:"source"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	UpdatedBy string     `json:"updated_by,omitempty"`
}

// Where the settings in force come from.
const (
	SSOStore = "store"
	SSOFlags = "flags"
)

// WorkSSO is single sign-on's settings, for the ownership rule (the
// city's) and the text of their config.changed events.
const WorkSSO Work = "sso"

// AuditSSOSettings: an admin changed single sign-on's settings.
const AuditSSOSettings = "sso.settings"

// RoleMap is the mapping Check read.
func (o *OIDCSettings) RoleMap() RoleMap { return o.roles }

// RoleMap is the mapping Check read.
func (l *LDAPSettings) RoleMap() RoleMap { return l.roles }

// maxSetting bounds a setting's length.
const maxSetting = 1000

// checkSetting checks a setting's text: at most maxSetting bytes of valid
// UTF-8, no control character.
func checkSetting(field, v string) error {
	if len(v) > maxSetting || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return FieldErrorf(field, "%s has a control character or is longer than %d bytes", field, maxSetting)
	}
	return nil
}

// LoopbackHost reports whether host (a URL's Hostname) names the machine
// itself: localhost or a loopback address.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// webURL checks an https URL (http on the machine itself), without user
// or fragment.
func webURL(field, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" ||
		!(u.Scheme == "https" || (u.Scheme == "http" && LoopbackHost(u.Hostname()))) {
		return nil, FieldErrorf(field, "%s is an https URL (http only on localhost)", field)
	}
	return u, nil
}

// checkRoles reads a mapping for field: a bad rule, or an empty mapping
// (nobody could sign in), is an error naming it.
func checkRoles(field, v string) (RoleMap, error) {
	m, err := ParseRoleMap(v)
	if err != nil {
		return nil, FieldErrorf(field, "%s: %v", field, err)
	}
	if len(m) == 0 {
		return nil, FieldErrorf(field, "%s: the role mapping is empty: nobody could sign in", field)
	}
	return m, nil
}

// Check checks the platform's settings, naming the first field at fault
// (oidc.issuer…), and fills the defaults in.
func (o *OIDCSettings) Check() error {
	for _, f := range []struct{ name, v string }{{"oidc.name", o.Name}, {"oidc.issuer", o.Issuer}, {"oidc.client_id", o.ClientID},
		{"oidc.client_secret", o.ClientSecret}, {"oidc.redirect_url", o.RedirectURL}, {"oidc.username_claim", o.UsernameClaim},
		{"oidc.groups_claim", o.GroupsClaim}} {
		if err := checkSetting(f.name, f.v); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(o.Name) > 60 {
		return FieldErrorf("oidc.name", "oidc.name is at most 60 characters")
	}
	if _, err := webURL("oidc.issuer", o.Issuer); err != nil {
		return err
	}
	if o.ClientID == "" {
		return FieldErrorf("oidc.client_id", "oidc.client_id is required")
	}
	ru, err := url.Parse(o.RedirectURL)
	if err != nil || (ru.Scheme != "https" && ru.Scheme != "http") || ru.Host == "" || !strings.HasSuffix(ru.Path, OIDCCallbackPath) {
		return FieldErrorf("oidc.redirect_url", "oidc.redirect_url is this site's https://…%s", OIDCCallbackPath)
	}
	if len(o.Scopes) > 20 {
		return FieldErrorf("oidc.scopes", "at most 20 scopes")
	}
	for _, s := range o.Scopes {
		if s == "" || len(s) > 100 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r >= 0x7f }) {
			return FieldErrorf("oidc.scopes", "scope %q: 1-100 printable ASCII characters, no space", Clip(s, 40))
		}
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = "preferred_username"
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = "groups"
	}
	o.roles, err = checkRoles("oidc.roles", o.Roles)
	if err != nil {
		return err
	}
	o.Roles = o.roles.String()
	return nil
}

// CheckAt is Check, then the issuer's address against allow (civiq serve
// --oidc-allow), as the identity platform's client checks each address
// it dials: loopback, link-local and private addresses, and localhost,
// only when allow holds them; else invalid, naming oidc.issuer.
func (o *OIDCSettings) CheckAt(allow []netip.Prefix) error {
	if err := o.Check(); err != nil {
		return err
	}
	return urlAllowed("oidc.issuer", o.Issuer, allow, FlagOIDCAllow)
}

// Check checks the directory's settings, naming the first field at fault
// (ldap.url…), and fills the defaults in.
func (l *LDAPSettings) Check() error {
	for _, f := range []struct{ name, v string }{{"ldap.url", l.URL}, {"ldap.bind_dn", l.BindDN}, {"ldap.base", l.Base},
		{"ldap.filter", l.Filter}, {"ldap.search_dn", l.SearchDN}, {"ldap.search_password", l.SearchPassword},
		{"ldap.username_attr", l.UsernameAttr}, {"ldap.group_attr", l.GroupAttr}, {"ldap.group_base", l.GroupBase},
		{"ldap.group_filter", l.GroupFilter}} {
		if err := checkSetting(f.name, f.v); err != nil {
			return err
		}
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" {
		return FieldErrorf("ldap.url", "ldap.url is ldap://host:389 or ldaps://host:636")
	}
	switch {
	case l.StartTLS && u.Scheme == "ldaps":
		return FieldErrorf("ldap.starttls", "StartTLS is for ldap:// URLs; ldaps:// is TLS already")
	case l.BindDN != "" && l.Filter != "":
		return FieldErrorf("ldap.filter", "give a bind DN template or a search (base and filter), not both")
	case l.BindDN != "" && !strings.Contains(l.BindDN, "{username}"):
		return FieldErrorf("ldap.bind_dn", "ldap.bind_dn must hold {username}")
	case l.BindDN == "" && l.Base == "":
		return FieldErrorf("ldap.bind_dn", "give a bind DN template with {username}, or a search base and a filter with {username}")
	case l.BindDN == "" && !strings.Contains(l.Filter, "{username}"):
		return FieldErrorf("ldap.filter", "ldap.filter must hold {username}")
	case l.GroupFilter != "" && l.GroupBase == "":
		return FieldErrorf("ldap.group_base", "a group filter needs a group base")
	}
	if l.UsernameAttr == "" {
		l.UsernameAttr = "uid"
	}
	if l.GroupBase != "" && l.GroupFilter == "" {
		l.GroupFilter = "(member={dn})"
	}
	l.roles, err = checkRoles("ldap.roles", l.Roles)
	if err != nil {
		return err
	}
	l.Roles = l.roles.String()
	return nil
}

// Check checks both parts.
func (s *SSOSettings) Check() error {
	if s.OIDC != nil {
		if err := s.OIDC.Check(); err != nil {
			return err
		}
	}
	if s.LDAP != nil {
		return s.LDAP.Check()
	}
	return nil
}

// CheckAt is Check with the identity platform's address checked against
// oidcAllow (OIDCSettings.CheckAt) and the directory's against ldapAllow
// (LDAPSettings.CheckAt): what settings about to be put in force get.
func (s *SSOSettings) CheckAt(oidcAllow, ldapAllow []netip.Prefix) error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.OIDC != nil {
		if err := s.OIDC.CheckAt(oidcAllow); err != nil {
			return err
		}
	}
	if s.LDAP != nil {
		return s.LDAP.CheckAt(ldapAllow)
	}
	return nil
}

// CheckAt is Check, then the directory's address against allow (civiq
// serve --ldap-allow), as the directory's client checks each address it
// dials: a directory sits on the intranet, at a private address, and
// only the operator says which (an admin's settings on the admin page
// could otherwise have civiq knock at any host of the intranet); else
// invalid, naming ldap.url.
func (l *LDAPSettings) CheckAt(allow []netip.Prefix) error {
	if err := l.Check(); err != nil {
		return err
	}
	return urlAllowed("ldap.url", l.URL, allow, FlagLDAPAllow)
}

// clone copies s, its parts with it.
func (s SSOSettings) clone() SSOSettings {
	if s.OIDC != nil {
		o := *s.OIDC
		o.Scopes = slices.Clone(o.Scopes)
		s.OIDC = &o
	}
	if s.LDAP != nil {
		l := *s.LDAP
		s.LDAP = &l
	}
	return s
}

// view is s as shown: secrets only as whether there is one.
func (s *SSOSettings) view() *SSOSettings {
	v := *s
	if s.OIDC != nil {
		o := *s.OIDC
		o.ClientSecretSet, o.ClientSecret, o.ClearClientSecret = o.ClientSecret != "", "", false
		v.OIDC = &o
	}
	if s.LDAP != nil {
		l := *s.LDAP
		l.SearchPasswordSet, l.SearchPassword, l.ClearSearchPassword = l.SearchPassword != "", "", false
		v.LDAP = &l
	}
	return &v
}

// SSOTx keeps an installation's single sign-on settings, their secrets
// sealed (sqlstore/sso.go).
type SSOTx interface {
	// SSOSettings is what PutSSOSettings stored; ENotFound when none.
	SSOSettings() (*SSOSettings, error)
	PutSSOSettings(s *SSOSettings) error
}

// ssoCache holds the settings in force, read again after cacheTTL; the
// engine's own writes replace them at once.
type ssoCache struct {
	mu    sync.Mutex
	flags *SSOSettings // SetSSOFlags'
	at    time.Time
	in    *SSOSettings // in force, secrets open
	dir   Directory    // made of in.LDAP
}

// SetSSOFlags makes s, checked (SSOSettings.Check), single sign-on as the
// server's flags and environment set it (civiq serve --oidc-…, --ldap-…):
// in force while no admin has set any. nil: none.
func (e *Engine) SetSSOFlags(s *SSOSettings) {
	c := &e.sso
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags, c.in, c.dir = s, nil, nil
}

// SSOInForce is single sign-on's settings in force, with their secrets:
// an admin's (the store's), else the flags' (SetSSOFlags), else none
// (Source ""). The caller must not change them.
func (e *Engine) SSOInForce(ctx context.Context) (*SSOSettings, error) {
	now := e.now()
	c := &e.sso
	c.mu.Lock()
	in, at := c.in, c.at
	c.mu.Unlock()
	if in != nil && freshAt(at, now) {
		return in, nil
	}
	var read *SSOSettings
	err := e.store.View(ctx, func(tx Tx) (err error) { read, err = e.readSSO(tx); return })
	if err != nil {
		return nil, err
	}
	return e.keepSSO(read, now), nil
}

// readSSO reads the settings in force.
func (e *Engine) readSSO(tx Tx) (*SSOSettings, error) {
	s, err := tx.SSOSettings()
	switch {
	case IsNotFound(err):
		e.sso.mu.Lock()
		flags := e.sso.flags
		e.sso.mu.Unlock()
		if flags == nil {
			return &SSOSettings{}, nil
		}
		f := *flags
		f.Source = SSOFlags
		return &f, nil
	case err != nil:
		return nil, err
	}
	s.Source = SSOStore
	if s.OIDC != nil {
		if err := e.unseal(&s.OIDC.ClientSecret); err != nil {
			return nil, err
		}
		s.OIDC.ClientSecretSet = s.OIDC.ClientSecret != ""
	}
	if s.LDAP != nil {
		if err := e.unseal(&s.LDAP.SearchPassword); err != nil {
			return nil, err
		}
		s.LDAP.SearchPasswordSet = s.LDAP.SearchPassword != ""
	}
	// As stored they were checked; read again, the mappings are parsed.
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("stored single sign-on settings: %w", err)
	}
	return s, nil
}

// keepSSO makes s the settings in force from now; the directory made of
// the ones held stays while its settings are the same.
func (e *Engine) keepSSO(s *SSOSettings, now time.Time) *SSOSettings {
	c := &e.sso
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.in == nil || !reflect.DeepEqual(c.in.LDAP, s.LDAP) {
		c.dir = nil
	}
	c.in, c.at = s, now
	return s
}

// directory is the directory of the settings in force and its mapping;
// nil when none is set up.
func (e *Engine) directory(ctx context.Context) (Directory, RoleMap, error) {
	s, err := e.SSOInForce(ctx)
	if err != nil || s.LDAP == nil || e.MakeDirectory == nil {
		return nil, nil, err
	}
	c := &e.sso
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != nil && c.in == s {
		return c.dir, s.LDAP.RoleMap(), nil
	}
	d, err := e.MakeDirectory(s.LDAP)
	if err != nil {
		return nil, nil, err
	}
	if c.in == s {
		c.dir = d
	}
	return d, s.LDAP.RoleMap(), nil
}

// HasDirectory reports whether a directory signs people in (the sign-in
// page says so).
func (e *Engine) HasDirectory(ctx context.Context) bool {
	d, _, err := e.directory(ctx)
	return err == nil && d != nil
}

// SSOSettingsView shows single sign-on's settings in force to admins:
// the secrets only as whether there is one.
func (e *Engine) SSOSettingsView(ctx context.Context, p Principal) (*SSOSettings, error) {
	if !p.Can(PermAdmin, "", "") {
		return nil, Errorf(EForbidden, "only admins read single sign-on's settings")
	}
	s, err := e.SSOInForce(ctx)
	if err != nil {
		return nil, err
	}
	return s.view(), nil
}

// SetSSOSettings sets single sign-on (admins): checked (a bad field is
// invalid, naming it, and changes nothing), the secrets kept when not
// sent, sealed in the store, in one transaction with an audit event and
// a config.changed event in every hall; in force at once, and on the
// other nodes within a second. From then on the store's settings win over
// the flags'.
func (e *Engine) SetSSOSettings(ctx context.Context, p Principal, in SSOSettings) (*SSOSettings, error) {
	if !p.Can(PermAdmin, "", "") {
		return nil, Errorf(EForbidden, "only admins set single sign-on")
	}
	if err := e.Refuse(ctx, WorkSSO, ""); err != nil {
		return nil, err
	}
	in = in.clone() // the caller's stay theirs; these are in force
	if err := in.CheckAt(e.OIDCAllow, e.LDAPAllow); err != nil {
		return nil, err
	}
	now := e.now()
	in.Source, in.UpdatedAt, in.UpdatedBy = SSOStore, &now, ""
	if p.User != nil {
		in.UpdatedBy = p.User.Username
	}
	err := e.update(ctx, func(tx Tx) error {
		old, err := e.readSSO(tx)
		if err != nil {
			return err
		}
		keepSecrets(&in, old)
		if (in.OIDC != nil && in.OIDC.ClientSecret != "") || (in.LDAP != nil && in.LDAP.SearchPassword != "") {
			if e.Sealer == nil {
				return Errorf(EUnavailable, "single sign-on's secrets cannot be kept: the server has no secret key")
			}
		}
		stored := in
		if in.OIDC != nil {
			o := *in.OIDC
			o.ClientSecret, o.ClientSecretSet, o.ClearClientSecret = e.seal(o.ClientSecret), false, false
			stored.OIDC = &o
		}
		if in.LDAP != nil {
			l := *in.LDAP
			l.SearchPassword, l.SearchPasswordSet, l.ClearSearchPassword = e.seal(l.SearchPassword), false, false
			stored.LDAP = &l
		}
		if err := tx.PutSSOSettings(&stored); err != nil {
			return err
		}
		if err := tx.AppendAudit(&AuditEvent{Type: AuditSSOSettings, At: now, Username: in.UpdatedBy, Actor: p.Key(),
			Address: strings.TrimPrefix(clientAddrKey(ctx), "addr ")}); err != nil {
			return err
		}
		halls, err := tx.Halls()
		if err != nil {
			return err
		}
		ids := make([]string, len(halls))
		for i, h := range halls {
			ids[i] = h.ID
		}
		return e.configChanged(tx, WorkSSO, ids...)
	})
	if err != nil {
		return nil, err
	}
	return e.keepSSO(&in, now).view(), nil
}

// keepSecrets keeps, in settings sent without a secret, the secret in
// force for the same issuer or directory, unless told to clear it.
func keepSecrets(in, old *SSOSettings) {
	if o := in.OIDC; o != nil {
		if o.ClientSecret == "" && !o.ClearClientSecret && old.OIDC != nil && old.OIDC.Issuer == o.Issuer {
			o.ClientSecret = old.OIDC.ClientSecret
		}
		o.ClearClientSecret, o.ClientSecretSet = false, o.ClientSecret != ""
	}
	if l := in.LDAP; l != nil {
		if l.SearchPassword == "" && !l.ClearSearchPassword && old.LDAP != nil && old.LDAP.URL == l.URL {
			l.SearchPassword = old.LDAP.SearchPassword
		}
		l.ClearSearchPassword, l.SearchPasswordSet = false, l.SearchPassword != ""
	}
}
