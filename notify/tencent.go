package notify

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
)

// Tencent sends SMS by Tencent Cloud SMS (API 3.0, SendSms of version
// 2021-01-11): the hall's SmsSdkAppId and SignName, the kind's TemplateId
// and its parameters in order, signed TC3-HMAC-SHA256 as documented.
// SessionContext carries the message's id.
type Tencent struct {
	Endpoint string // https://sms.tencentcloudapi.com unless the hall sets one
	KeyID    string // SecretId
	Secret   string // SecretKey
	AppID    string // SmsSdkAppId
	SignName string
	Region   string
	MaxLen   int
	HTTP     *http.Client
	Now      func() time.Time
}

// TencentEndpoint is the public endpoint of Tencent Cloud SMS.
const TencentEndpoint = "https://sms.tencentcloudapi.com"

// tencentMaxParam is the most characters of a template variable (the
// rule for most accounts; a hall sets its own with extra "max_param_len").
const tencentMaxParam = 12

// NewTencent is the maker of Tencent Cloud SMS channels sending through
// client.
func NewTencent(client *http.Client) Maker {
	return func(p *civiq.ProviderSettings) (civiq.Channel, error) {
		if err := needs(p, "access_key_id", "access_key_secret", "sign_name", "app_id"); err != nil {
			return nil, err
		}
		n, err := maxParamLen(p, tencentMaxParam)
		if err != nil {
			return nil, err
		}
		return &Tencent{Endpoint: cmp.Or(p.Endpoint, TencentEndpoint), KeyID: p.KeyID, Secret: p.Secret, AppID: p.AppID,
			SignName: p.SignName, Region: cmp.Or(p.Region, "ap-guangzhou"), MaxLen: n, HTTP: client, Now: time.Now}, nil
	}
}

// Provider is "tencent".
func (t *Tencent) Provider() string { return "tencent" }

// Medium is SMS.
func (t *Tencent) Medium() string { return civiq.MediumSMS }

// Rules: registered templates, short variables, numbers abroad too.
func (t *Tencent) Rules() civiq.ParamRules {
	return civiq.ParamRules{MaxParamLen: t.MaxLen, Templates: true, International: true}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TC3Sign is the Authorization header of a POST of payload with
// content type ct to host for service at the Unix time ts:
// TC3-HMAC-SHA256 over the canonical request of the signed headers
// content-type and host, the key derived from "TC3"+secret by the UTC
// date, the service and "tc3_request".
func TC3Sign(secretID, secret, service, host, ct string, payload []byte, ts int64) string {
	canonical := "POST\n/\n\ncontent-type:" + ct + "\nhost:" + host + "\n\ncontent-type;host\n" + sha256Hex(payload)
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	scope := date + "/" + service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	key := hmacSHA256([]byte("TC3"+secret), date)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "tc3_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=content-type;host, Signature=" + sig
}

// tencentNumber is a number in E.164 as Tencent takes it.
func tencentNumber(to string) string {
	if strings.HasPrefix(to, "+") {
		return to
	}
	return "+86" + to
}

// Send posts SendSms and reads the number's status: Code "Ok" is sent
// (SerialNo the provider's id); the account throttled
// ("RequestLimitExceeded"), the provider's internal errors and 5xx are
// tried again later; any other code is final, a number's own limits
// ("LimitExceeded.PhoneNumber*") too: late, the message would not help,
// and the hall's other messages would wait behind it.
func (t *Tencent) Send(ctx context.Context, m *civiq.ChannelMessage) civiq.ChannelResult {
	params := make([]string, len(m.Params))
	for i, p := range m.Params {
		params[i] = p.Value
	}
	payload, _ := json.Marshal(map[string]any{
		"PhoneNumberSet": []string{tencentNumber(m.To)}, "SmsSdkAppId": t.AppID, "SignName": t.SignName,
		"TemplateId": m.Template, "TemplateParamSet": params, "SessionContext": m.ID,
	})
	u, err := url.Parse(strings.TrimRight(t.Endpoint, "/") + "/")
	if err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "settings", Error: outbound.Short(err.Error())}
	}
	ctx, cancel := context.WithTimeout(ctx, SMSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(string(payload)))
	if err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "settings", Error: outbound.Short(err.Error())}
	}
	const ct = "application/json; charset=utf-8"
	ts := t.Now().Unix()
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-TC-Action", "SendSms")
	req.Header.Set("X-TC-Version", "2021-01-11")
	req.Header.Set("X-TC-Region", t.Region)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", TC3Sign(t.KeyID, t.Secret, "sms", u.Host, ct, payload, ts))
	status, body, fail := post(t.HTTP, req)
	if fail != nil {
		return *fail
	}
	var ans struct {
		Response struct {
			Error *struct{ Code, Message string }
			// SendStatusSet has one status per number: here one.
			SendStatusSet []struct{ SerialNo, Code, Message string }
		}
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: strconv.Itoa(status), Error: outbound.Short(string(body)), Retry: status == 429}
	}
	code, msg, id := "", "", ""
	switch r := ans.Response; {
	case r.Error != nil:
		code, msg = r.Error.Code, r.Error.Message
	case len(r.SendStatusSet) == 1:
		code, msg, id = r.SendStatusSet[0].Code, r.SendStatusSet[0].Message, r.SendStatusSet[0].SerialNo
	default:
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: strconv.Itoa(status), Error: outbound.Short(string(body))}
	}
	if code == "Ok" {
		return civiq.ChannelResult{ProviderID: id, Status: civiq.NoticeSent, Code: code}
	}
	retry := code == "RequestLimitExceeded" || strings.HasPrefix(code, "InternalError") || status == 429
	return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: code, Error: outbound.Short(msg), Retry: retry}
}
