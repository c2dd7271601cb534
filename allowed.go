package civiq

import (
	"context"
	"fmt"
	"net/netip"
)

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
// and the notifications' providers of every hall (notifyAllow, civiq
// serve --notify-allow; the push services are the citizens' own, never
// stored). Settings kept from before the lists existed (--ldap-allow and
// --notify-allow came after them) now fail when used: civiq serve warns.
func (e *Engine) RefusedAddresses(ctx context.Context, notifyAllow []netip.Prefix) ([]RefusedAddress, error) {
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
			for _, p := range []struct {
				medium string
				s      *ProviderSettings
			}{{MediumSMS, st.SMS}, {MediumWeChat, st.WeChat}} {
				if p.s != nil && p.s.Endpoint != "" && urlAllowed("endpoint", p.s.Endpoint, notifyAllow, FlagNotifyAllow) != nil {
					out = append(out, RefusedAddress{fmt.Sprintf("hall %s %s.endpoint", h.ID, p.medium), FlagNotifyAllow})
				}
			}
		}
		return nil
	})
	return out, err
}
