package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/sso"
)

// SSOConfig is how civiq serve signs staff in besides local accounts
// (issue 17): the identity platform (OpenID Connect). Secrets come from
// the environment only, never a flag (a process list shows flags).
type SSOConfig struct {
	OIDCIssuer, OIDCClientID, OIDCRedirectURL string
	OIDCScopes, OIDCUsernameClaim             string
	OIDCGroupsClaim, OIDCRoles, OIDCName      string
}

// EnvOIDCClientSecret holds the identity platform's client secret.
const EnvOIDCClientSecret = "CIVIQ_OIDC_CLIENT_SECRET"

// ssoFlags defines the flags of single sign-on.
func (c *SSOConfig) ssoFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", env("CIVIQ_OIDC_ISSUER", ""), "the identity platform's OpenID Connect issuer URL; sets single sign-on up, with --oidc-client-id, --oidc-redirect-url, --oidc-roles and the secret in "+EnvOIDCClientSecret+" (env CIVIQ_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", env("CIVIQ_OIDC_CLIENT_ID", ""), "civiq's client id at the identity platform (env CIVIQ_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", env("CIVIQ_OIDC_REDIRECT_URL", ""), "this site's callback as registered at the platform: https://civiq.example.gov.cn"+sso.CallbackPath+" (env CIVIQ_OIDC_REDIRECT_URL)")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", env("CIVIQ_OIDC_SCOPES", "profile"), "scopes asked besides openid, separated by spaces or commas (env CIVIQ_OIDC_SCOPES)")
	fs.StringVar(&c.OIDCUsernameClaim, "oidc-username-claim", env("CIVIQ_OIDC_USERNAME_CLAIM", "preferred_username"), "the ID token's claim that is the civiq username (env CIVIQ_OIDC_USERNAME_CLAIM)")
	fs.StringVar(&c.OIDCGroupsClaim, "oidc-groups-claim", env("CIVIQ_OIDC_GROUPS_CLAIM", "groups"), "the ID token's claim whose values --oidc-roles maps (env CIVIQ_OIDC_GROUPS_CLAIM)")
	fs.StringVar(&c.OIDCRoles, "oidc-roles", env("CIVIQ_OIDC_ROLES", ""), "claim values to roles and halls: 'value=admin; value=manager:hall,hall; value=staff:hall' (env CIVIQ_OIDC_ROLES)")
	fs.StringVar(&c.OIDCName, "oidc-name", env("CIVIQ_OIDC_NAME", ""), "the platform's name on the sign-in button, e.g. 省统一身份认证平台 (env CIVIQ_OIDC_NAME)")
}

// oidc makes the identity platform's client, nil when none is set up.
func (c *SSOConfig) oidc() (*sso.OIDC, error) {
	if c.OIDCIssuer == "" {
		if c.OIDCClientID != "" || c.OIDCRedirectURL != "" || c.OIDCRoles != "" {
			return nil, fmt.Errorf("--oidc-client-id, --oidc-redirect-url and --oidc-roles need --oidc-issuer")
		}
		return nil, nil
	}
	roles, err := civiq.ParseRoleMap(c.OIDCRoles)
	if err != nil {
		return nil, fmt.Errorf("--oidc-roles: %w", err)
	}
	return sso.NewOIDC(sso.OIDCConfig{Name: c.OIDCName, Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID,
		ClientSecret: os.Getenv(EnvOIDCClientSecret), RedirectURL: c.OIDCRedirectURL,
		Scopes:        strings.FieldsFunc(c.OIDCScopes, func(r rune) bool { return r == ' ' || r == ',' }),
		UsernameClaim: c.OIDCUsernameClaim, GroupsClaim: c.OIDCGroupsClaim, Roles: roles})
}

// setSSO sets single sign-on up on a.
func (c *SSOConfig) setSSO(a *app.App) error {
	o, err := c.oidc()
	if err != nil {
		return err
	}
	a.SetSSO(o, nil, nil)
	return nil
}
