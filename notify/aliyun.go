package notify

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
)

// Aliyun sends SMS by Alibaba Cloud SMS (短信服务, dysmsapi): the RPC
// action SendSms with the hall's SignName, the kind's TemplateCode and
// the TemplateParam, signed as the RPC API documents it (signature version
// 1.0, HMAC-SHA1 of the sorted, percent-encoded parameters under
// "secret&"). OutId carries the message's id.
type Aliyun struct {
	Endpoint string // https://dysmsapi.aliyuncs.com unless the hall sets one
	KeyID    string
	Secret   string
	SignName string
	MaxLen   int
	HTTP     *http.Client
	// Now and Nonce are the clock and the random nonce; tests fix them.
	Now   func() time.Time
	Nonce func() string
}

// AliyunEndpoint is the public endpoint of Alibaba Cloud SMS.
const AliyunEndpoint = "https://dysmsapi.aliyuncs.com"

// aliyunMaxParam is the most characters of a template variable.
const aliyunMaxParam = 35

// NewAliyun is the maker of Alibaba Cloud SMS channels sending through
// client.
func NewAliyun(client *http.Client) Maker {
	return func(p *civiq.ProviderSettings) (civiq.Channel, error) {
		if err := needs(p, "access_key_id", "access_key_secret", "sign_name"); err != nil {
			return nil, err
		}
		n, err := maxParamLen(p, aliyunMaxParam)
		if err != nil {
			return nil, err
		}
		return &Aliyun{Endpoint: cmp.Or(p.Endpoint, AliyunEndpoint), KeyID: p.KeyID, Secret: p.Secret, SignName: p.SignName,
			MaxLen: n, HTTP: client, Now: time.Now, Nonce: randomNonce}, nil
	}
}

func randomNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Provider is "aliyun".
func (a *Aliyun) Provider() string { return "aliyun" }

// Medium is SMS.
func (a *Aliyun) Medium() string { return civiq.MediumSMS }

// Rules: registered templates, variables of at most 35 characters, and
// numbers abroad too.
func (a *Aliyun) Rules() civiq.ParamRules {
	return civiq.ParamRules{MaxParamLen: a.MaxLen, Templates: true, International: true}
}

// aliyunEscape is the percent-encoding of the RPC signature: RFC 3986's
// unreserved characters as they are, every other byte %XX.
func aliyunEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// AliyunSign is the RPC signature of a request's parameters (Signature
// itself not among them) by method under secret.
func AliyunSign(method string, params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = aliyunEscape(k) + "=" + aliyunEscape(params[k])
	}
	toSign := method + "&" + aliyunEscape("/") + "&" + aliyunEscape(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliyunNumber is a number as Alibaba Cloud takes it: 11 digits, or the
// country code and number without "+".
func aliyunNumber(to string) string { return strings.TrimPrefix(to, "+") }

// Send posts SendSms and reads its answer: Code "OK" is sent (BizId the
// provider's id); the account throttled ("Throttling.*") and the
// provider's 5xx are tried again later; any other code is final, a
// number's own limit ("isv.BUSINESS_LIMIT_CONTROL") too: late, the message
// would not help, and the hall's other messages would wait behind it.
func (a *Aliyun) Send(ctx context.Context, m *civiq.ChannelMessage) civiq.ChannelResult {
	vars := map[string]string{}
	for _, p := range m.Params {
		vars[p.Name] = p.Value
	}
	tp, _ := json.Marshal(vars)
	params := map[string]string{
		"AccessKeyId": a.KeyID, "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": a.Nonce(), "SignatureVersion": "1.0",
		"Timestamp": a.Now().UTC().Format("2006-01-02T15:04:05Z"), "Version": "2017-05-25",
		"PhoneNumbers": aliyunNumber(m.To), "SignName": a.SignName, "TemplateCode": m.Template,
		"TemplateParam": string(tp), "OutId": m.ID,
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	form.Set("Signature", AliyunSign(http.MethodPost, params, a.Secret))
	ctx, cancel := context.WithTimeout(ctx, SMSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(a.Endpoint, "/")+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "settings", Error: outbound.Short(err.Error())}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, fail := post(a.HTTP, req)
	if fail != nil {
		return *fail
	}
	var ans struct{ Code, Message, BizId string }
	if err := json.Unmarshal(body, &ans); err != nil || ans.Code == "" {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: http.StatusText(status), Error: outbound.Short(string(body)), Retry: status == 429}
	}
	if ans.Code == "OK" {
		return civiq.ChannelResult{ProviderID: ans.BizId, Status: civiq.NoticeSent, Code: ans.Code}
	}
	retry := strings.HasPrefix(ans.Code, "Throttling") || status == 429
	return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: ans.Code, Error: outbound.Short(ans.Message), Retry: retry}
}
