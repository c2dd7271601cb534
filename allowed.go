package civiq

import (
	"context"
	"fmt"
)

// providerAllowed checks the endpoint of a hall's provider p of the
// medium, its field medium.endpoint, against NotifyAllow (urlAllowed): an
// SMS or WeChat provider's, which civiq dials; none set is the provider's
// public one. A browser push service is the citizen's own, never set here.
func (e *Engine) providerAllowed(medium string, p *ProviderSettings) error {
	if p == nil || p.Endpoint == "" || (medium != MediumSMS && medium != MediumWeChat) {
		return nil
	}
	return urlAllowed(medium+".endpoint", p.Endpoint, e.NotifyAllow, FlagNotifyAllow)
}

// RefusedAddress is a stored setting whose address the server's allow
// lists refuse: where it is (Setting: "ldap.url", "hall demo sms.endpoint")
// and the flag that would allow it. It holds no address, secret or
// personal data: a warning at start says it.
type RefusedAddress struct {
	Setting, Flag string
}

// RefusedAddresses lists the stored settings that name an address the
// allow lists refuse: single sign-on's (the engine's OIDCAllow and
// LDAPAllow; settings from the flags are checked as the server starts)
// and the notifications' providers of every hall (NotifyAllow, civiq
// serve --notify-allow; the push services are the citizens' own, never
// stored). Settings kept from before the lists existed (--ldap-allow and
// --notify-allow came after them), or from before the list was narrowed,
// now fail when used: civiq serve warns.
func (e *Engine) RefusedAddresses(ctx context.Context) ([]RefusedAddress, error) {
	var out []RefusedAddress
	err := e.store.View(ctx, func(tx Tx) error {
		s, err := tx.SSOSettings()
		if err != nil && !IsNotFound(err) {
			return err
		}
		if s != nil && s.OIDC != nil && urlAllowed("oidc.issuer", s.OIDC.Issuer, e.OIDCAllow, FlagOIDCAllow) != nil {
			out = append(out, RefusedAddress{"oidc.issuer", FlagOIDCAllow})
		}
		if s != nil && s.LDAP != nil && urlAllowed("ldap.url", s.LDAP.URL, e.LDAPAllow, FlagLDAPAllow) != nil {
			out = append(out, RefusedAddress{"ldap.url", FlagLDAPAllow})
		}
		halls, err := tx.Halls()
		if err != nil {
			return err
		}
		for _, h := range halls {
			st, err := tx.NotifySettings(h.ID)
			if IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			for _, m := range Media {
				if e.providerAllowed(m, st.Provider(m)) != nil {
					out = append(out, RefusedAddress{fmt.Sprintf("hall %s %s.endpoint", h.ID, m), FlagNotifyAllow})
				}
			}
		}
		return nil
	})
	return out, err
}
