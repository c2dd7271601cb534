package notify

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
)

// What the SMS providers push to a hall's callback URLs (civiq's
// notifyreport.go), read strictly: a JSON array at most MaxCallback bytes
// (a single object where the provider sends one), times in China's zone.
//
// Alibaba Cloud (HTTP batch push, "HTTP批量推送模式"): SmsReport
//
//	[{"phone_number":"1381111****","send_time":"2017-01-01 00:00:00","report_time":"2017-01-01 00:00:00",
//	  "success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"12345","out_id":"67890"}]
//
// and SmsUp
//
//	[{"phone_number":"13800000000","send_time":"2017-01-01 00:00:00","content":"TD","sign_name":"…",
//	  "dest_code":"1234","sequence_id":1234567890}]
//
// both answered {"code":0,"msg":"成功"}. Tencent Cloud: the status callback
//
//	[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13xxxxxxxxx",
//	  "report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"xxxxxxx"}]
//
// (sid: the SerialNo SendSms answered) and the reply callback
//
//	{"extend":"","mobile":"13xxxxxxxxx","nationcode":"86","sign":"…","text":"TD","time":1457336869}
//
// both answered {"result":0,"errmsg":"OK"}.

// MaxCallback is the most bytes of a callback's body read.
const MaxCallback = 256 << 10

// maxCallbackItems is the most reports or replies of one body.
const maxCallbackItems = 1000

var chinaZone = time.FixedZone("CST", 8*3600)

func providerTime(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, chinaZone)
	if err != nil {
		return time.Time{}
	}
	return t
}

// errCallback is every refusal of a body: 400, naming nothing of it.
var errCallback = civiq.FieldErrorf("body", "not a report or a reply of this provider")

// list reads a JSON array of items (or one item, when one is allowed).
func list[T any](body []byte, single bool) ([]T, error) {
	if len(body) > MaxCallback {
		return nil, errCallback
	}
	var out []T
	b := strings.TrimSpace(string(body))
	if single && strings.HasPrefix(b, "{") {
		var one T
		if err := json.Unmarshal([]byte(b), &one); err != nil {
			return nil, errCallback
		}
		return []T{one}, nil
	}
	if err := json.Unmarshal([]byte(b), &out); err != nil || len(out) > maxCallbackItems {
		return nil, errCallback
	}
	return out, nil
}

// ParseReports reads a provider's delivery reports.
func ParseReports(provider string, body []byte) ([]civiq.DeliveryReport, error) {
	var out []civiq.DeliveryReport
	switch provider {
	case "aliyun":
		rs, err := list[struct {
			ReportTime string `json:"report_time"`
			Success    bool   `json:"success"`
			ErrCode    string `json:"err_code"`
			ErrMsg     string `json:"err_msg"`
			BizID      string `json:"biz_id"`
			OutID      string `json:"out_id"`
		}](body, false)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, civiq.DeliveryReport{ProviderID: short(r.BizID), OutID: short(r.OutID), Delivered: r.Success,
				Code: short(r.ErrCode), Error: outbound.Short(r.ErrMsg), At: providerTime(r.ReportTime)})
		}
	case "tencent":
		rs, err := list[struct {
			At          string `json:"user_receive_time"`
			Status      string `json:"report_status"`
			ErrMsg      string `json:"errmsg"`
			Description string `json:"description"`
			SID         string `json:"sid"`
		}](body, false)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, civiq.DeliveryReport{ProviderID: short(r.SID), Delivered: r.Status == "SUCCESS",
				Code: short(r.ErrMsg), Error: outbound.Short(r.Description), At: providerTime(r.At)})
		}
	default:
		return nil, errors.New("unknown provider")
	}
	return out, nil
}

// ParseReplies reads the replies a provider passes on.
func ParseReplies(provider string, body []byte) ([]civiq.SMSReply, error) {
	var out []civiq.SMSReply
	switch provider {
	case "aliyun":
		rs, err := list[struct {
			Phone   string `json:"phone_number"`
			At      string `json:"send_time"`
			Content string `json:"content"`
		}](body, false)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, civiq.SMSReply{Phone: r.Phone, Text: r.Content, At: providerTime(r.At)})
		}
	case "tencent":
		rs, err := list[struct {
			Mobile     string `json:"mobile"`
			NationCode string `json:"nationcode"`
			Text       string `json:"text"`
			Time       int64  `json:"time"`
		}](body, true)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			phone := r.Mobile
			if cc := strings.TrimPrefix(r.NationCode, "+"); cc != "" && cc != "86" && !strings.HasPrefix(phone, "+") {
				phone = "+" + cc + phone
			}
			out = append(out, civiq.SMSReply{Phone: phone, Text: r.Text, At: time.Unix(r.Time, 0)})
		}
	default:
		return nil, errors.New("unknown provider")
	}
	return out, nil
}

// CallbackAnswer is what a provider expects when a push was taken.
func CallbackAnswer(provider string) any {
	if provider == "tencent" {
		return map[string]any{"result": 0, "errmsg": "OK"}
	}
	return map[string]any{"code": 0, "msg": "成功"}
}

// short bounds an id or a code from outside.
func short(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "")
	}
	return s
}
