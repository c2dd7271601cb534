package civiq_test

import (
	"net/netip"
	"slices"
	"strings"
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
	got, err := e.eng.RefusedAddresses(e.ctx)
	want := []civiq.RefusedAddress{{Setting: "ldap.url", Flag: civiq.FlagLDAPAllow}, {Setting: "hall demo sms.endpoint", Flag: civiq.FlagNotifyAllow}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("refused %+v, %v; want %+v", got, err, want)
	}
	e.eng.LDAPAllow = []netip.Prefix{netip.MustParsePrefix("10.20.0.7/32")}
	e.eng.NotifyAllow = []netip.Prefix{netip.MustParsePrefix("192.168.8.0/24")}
	if got, err := e.eng.RefusedAddresses(e.ctx); err != nil || len(got) != 0 {
		t.Errorf("allowed, still refused: %+v, %v", got, err)
	}
}

// TestProviderEndpointAllowed: an SMS or WeChat provider's endpoint on a
// loopback, link-local or private address is refused when an admin sets
// it, naming the field and civiq serve --notify-allow, as a webhook's URL
// is, and nothing is stored; --notify-allow lets it be set, and a public
// one needs nothing.
func TestProviderEndpointAllowed(t *testing.T) {
	e := newEnv(t)
	admin := bootstrapAdmin(t, e)
	e.seal()
	for _, c := range []struct {
		field string
		in    civiq.NotifySettings
	}{
		{"sms.endpoint", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "aliyun", Endpoint: "http://192.168.8.2:8080/sms"}}},
		{"sms.endpoint", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "tencent", Endpoint: "https://127.0.0.1"}}},
		{"wechat.endpoint", civiq.NotifySettings{WeChat: &civiq.ProviderSettings{Provider: "wechat", Endpoint: "http://localhost:9000"}}},
		{"wechat.endpoint", civiq.NotifySettings{WeChat: &civiq.ProviderSettings{Provider: "wechat", Endpoint: "http://[fe80::1]/"}}},
	} {
		_, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", c.in)
		if civiq.ErrorCode(err) != civiq.EInvalid || civiq.ErrorField(err) != c.field ||
			!strings.Contains(civiq.ErrorMessage(err), civiq.FlagNotifyAllow) {
			t.Errorf("%s %s, not allowed: %v", c.field, c.in.Provider(strings.TrimSuffix(c.field, ".endpoint")).Endpoint, err)
		}
	}
	if got, err := e.eng.RefusedAddresses(e.ctx); err != nil || len(got) != 0 {
		t.Errorf("refused settings were stored: %+v, %v", got, err)
	}
	private := civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "aliyun", Endpoint: "http://192.168.8.2:8080/sms"},
		WeChat: &civiq.ProviderSettings{Provider: "wechat", Endpoint: "https://api.weixin.qq.com"}}
	e.eng.NotifyAllow = []netip.Prefix{netip.MustParsePrefix("192.168.8.0/24")}
	if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", private); err != nil {
		t.Errorf("a private cloud's endpoint with --notify-allow: %v", err)
	}
}
