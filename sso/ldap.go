package sso

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig is a directory: its settings (civiq.LDAPSettings, checked
// by NewLDAP: a person is found either by a bind DN made from the
// username, or by a search, and then binds with their own password), and
// what the settings do not say.
type LDAPConfig struct {
	civiq.LDAPSettings
	// TLS configures StartTLS and ldaps:// (nil: the system's roots, the
	// URL's host).
	TLS *tls.Config
	// GroupName is the attribute of a group entry that names it (cn).
	GroupName string
	// Timeout bounds the connection and each request (10 s by default).
	Timeout time.Duration
	// Allow lists the loopback, link-local and private addresses the
	// directory may be reached at (civiq serve --ldap-allow): checked by
	// NewLDAP on the URL and on every address dialled (a name that
	// resolves to one of them too), as the identity platform's are.
	Allow []netip.Prefix
}

// LDAP checks passwords against a directory: a civiq.Directory.
type LDAP struct {
	cfg LDAPConfig
}

// NewLDAP checks cfg.
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	if err := cfg.CheckAt(cfg.Allow); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.GroupName == "" {
		cfg.GroupName = "cn"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return &LDAP{cfg: cfg}, nil
}

// Roles is the directory's mapping of groups to roles and halls.
func (l *LDAP) Roles() civiq.RoleMap { return l.cfg.RoleMap() }

// unavailable is the directory away or failing, or at an address the
// guarded dialer refuses: not the person's fault (the platform's are the
// same, oidc.go). A refusal names the address and the flag that allows
// it.
func unavailable(err error) error {
	var re *outbound.RefusedError
	if errors.As(err, &re) {
		return civiq.Errorf(civiq.EUnavailable, "the directory's address %s is not allowed: loopback, link-local and private addresses need civiq serve %s", re.Addr, re.Flag)
	}
	return civiq.Errorf(civiq.EUnavailable, "the directory cannot be reached: %v", err)
}

var errWrong = civiq.Errorf(civiq.EUnauthorized, "wrong username or password")

// Authenticate binds as the person with their password and reads their
// groups. A wrong password, an unknown or ambiguous name is EUnauthorized;
// the directory away is EUnavailable.
func (l *LDAP) Authenticate(ctx context.Context, username, password string) (*civiq.Identity, error) {
	if username == "" || password == "" { // an empty password is an anonymous bind on many directories
		return nil, errWrong
	}
	c := l.cfg
	dialer := outbound.GuardedDialer(func() []netip.Prefix { return c.Allow }, civiq.FlagLDAPAllow, c.Timeout)
	conn, err := ldap.DialURL(c.URL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(c.TLS))
	if err != nil {
		return nil, unavailable(err)
	}
	defer conn.Close()
	conn.SetTimeout(c.Timeout)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.StartTLS {
		if err := conn.StartTLS(c.TLS); err != nil {
			return nil, unavailable(err)
		}
	}
	dn := ""
	if c.BindDN != "" {
		dn = strings.ReplaceAll(c.BindDN, "{username}", ldap.EscapeDN(username))
	} else {
		if c.SearchDN != "" {
			if err := conn.Bind(c.SearchDN, c.SearchPassword); err != nil {
				return nil, unavailable(fmt.Errorf("the search account's bind: %w", err))
			}
		}
		res, err := conn.Search(ldap.NewSearchRequest(c.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(c.Timeout.Seconds()), false,
			strings.ReplaceAll(c.Filter, "{username}", ldap.EscapeFilter(username)), []string{"1.1"}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return nil, unavailable(err)
		}
		if res == nil || len(res.Entries) != 1 {
			return nil, errWrong // nobody, or two people: no one to sign in
		}
		dn = res.Entries[0].DN
	}
	if err := conn.Bind(dn, password); err != nil {
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultUnwillingToPerform) {
			return nil, errWrong
		}
		return nil, unavailable(err)
	}
	// Bound as the person: their entry, then their groups.
	attrs := []string{c.UsernameAttr}
	if c.GroupAttr != "" {
		attrs = append(attrs, c.GroupAttr)
	}
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(c.Timeout.Seconds()), false,
		"(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil, unavailable(fmt.Errorf("reading %s: %v", dn, err))
	}
	e := res.Entries[0]
	id := &civiq.Identity{Source: civiq.SourceLDAP, Username: username}
	if v := e.GetAttributeValue(c.UsernameAttr); v != "" {
		id.Username = v
	}
	var groups []string
	if c.GroupAttr != "" {
		groups = append(groups, e.GetAttributeValues(c.GroupAttr)...)
	}
	if c.GroupBase != "" {
		filter := c.GroupFilter
		if filter == "" {
			filter = "(member={dn})"
		}
		filter = strings.NewReplacer("{dn}", ldap.EscapeFilter(dn), "{username}", ldap.EscapeFilter(username)).Replace(filter)
		res, err := conn.Search(ldap.NewSearchRequest(c.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1000, int(c.Timeout.Seconds()), false,
			filter, []string{c.GroupName}, nil))
		if err != nil {
			return nil, unavailable(fmt.Errorf("the groups of %s: %w", dn, err))
		}
		for _, g := range res.Entries {
			groups = append(groups, g.GetAttributeValues(c.GroupName)...)
		}
	}
	for _, g := range groups {
		id.Groups = appendNew(id.Groups, g)
		if d, err := ldap.ParseDN(g); err == nil && len(d.RDNs) > 0 && len(d.RDNs[0].Attributes) == 1 {
			id.Groups = appendNew(id.Groups, d.RDNs[0].Attributes[0].Value)
		}
	}
	return id, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
