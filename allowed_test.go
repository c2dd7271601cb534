package civiq_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/civiq/civiq"
)

// TestRefusedAddresses: settings stored before --ldap-allow and
// --notify-allow (a directory, an SMS gateway at a private address) are
// listed for the warning at start, by setting and flag alone, until the
// lists allow them; public ones never are.
func TestRefusedAddresses(t *testing.T) {
	e := newEnv(t)
	if err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
		if err := tx.PutSSOSettings(&civiq.SSOSettings{
			OIDC: &civiq.OIDCSettings{Issuer: "https://sso.example.gov.cn", ClientID: "civiq"},
			LDAP: &civiq.LDAPSettings{URL: "ldap://10.20.0.7", BindDN: "uid={username}"}}); err != nil {
			return err
		}
		return tx.PutNotifySettings(&civiq.NotifySettings{HallID: "demo",
			SMS:    &civiq.ProviderSettings{Provider: "aliyun", Endpoint: "http://192.168.8.2:8080/sms"},
			WeChat: &civiq.ProviderSettings{Provider: "wechat", Endpoint: "https://api.weixin.qq.com"}})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := e.eng.RefusedAddresses(e.ctx, nil)
	want := []civiq.RefusedAddress{{Setting: "ldap.url", Flag: civiq.FlagLDAPAllow}, {Setting: "hall demo sms.endpoint", Flag: civiq.FlagNotifyAllow}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("refused %+v, %v; want %+v", got, err, want)
	}
	e.eng.LDAPAllow = []netip.Prefix{netip.MustParsePrefix("10.20.0.7/32")}
	if got, err := e.eng.RefusedAddresses(e.ctx, []netip.Prefix{netip.MustParsePrefix("192.168.8.0/24")}); err != nil || len(got) != 0 {
		t.Errorf("allowed, still refused: %+v, %v", got, err)
	}
}
