package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/notify"
)

// The documented examples: Alibaba Cloud's RPC signature (DescribeRegions,
// AccessKeySecret "testsecret") and Tencent Cloud's TC3-HMAC-SHA256
// (DescribeInstances of cvm at 1551113065, the key as the documentation
// prints it, asterisks and all).
func TestAliyunSignDocumented(t *testing.T) {
	params := map[string]string{"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
		"Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
	if got := notify.AliyunSign("GET", params, "testsecret"); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Fatalf("signature %s, documented OLeaidS1JvxuMvnyHOwuJ+uX5qY=", got)
	}
}

func TestTC3SignDocumented(t *testing.T) {
	payload := `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	got := notify.TC3Sign("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "Gu5t9xGARNpq86cd98joQYCN3*******", "cvm",
		"cvm.tencentcloudapi.com", "application/json; charset=utf-8", []byte(payload), 1551113065)
	want := "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, " +
		"SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
	if got != want {
		t.Fatalf("authorization\n%s\nwant\n%s", got, want)
	}
}

// fakeSMS is a provider's stand-in: it checks each request's signature
// with its own implementation, keeps what it took, and answers as answer
// says ("ok", "throttle", "refuse", "down").
type fakeSMS struct {
	*httptest.Server
	mu     sync.Mutex
	got    []map[string]any
	answer string
	bad    int // requests whose signature did not check
}

func (f *fakeSMS) mode() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answer
}

func (f *fakeSMS) took() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.got...)
}

// aliyunCheck verifies an RPC signature the way the documentation's
// second recipe has it: url.QueryEscape, then "+" → "%20", "*" → "%2A",
// "%7E" → "~".
func aliyunCheck(form url.Values, secret string) bool {
	enc := func(s string) string {
		return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
	}
	var keys []string
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		q = append(q, enc(k)+"="+enc(form.Get(k)))
	}
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	io.WriteString(mac, "POST&%2F&"+enc(strings.Join(q, "&")))
	return hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(form.Get("Signature")))
}

func newFakeAliyun(t *testing.T, secret string) *fakeSMS {
	f := &fakeSMS{answer: "ok"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.Method != "POST" || !aliyunCheck(r.PostForm, secret) {
			f.mu.Lock()
			f.bad++
			f.mu.Unlock()
			w.WriteHeader(400)
			io.WriteString(w, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation."}`)
			return
		}
		switch f.mode() {
		case "throttle":
			w.WriteHeader(400)
			io.WriteString(w, `{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}`)
			return
		case "refuse":
			io.WriteString(w, `{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号"}`)
			return
		case "down":
			w.WriteHeader(503)
			return
		}
		m := map[string]any{}
		for k := range r.PostForm {
			m[k] = r.PostForm.Get(k)
		}
		f.mu.Lock()
		f.got = append(f.got, m)
		n := len(f.got)
		f.mu.Unlock()
		fmt.Fprintf(w, `{"Code":"OK","Message":"OK","BizId":"biz-%d","RequestId":"r"}`, n)
	}))
	t.Cleanup(f.Close)
	return f
}

// tencentCheck verifies a TC3-HMAC-SHA256 Authorization header from the
// request as received.
func tencentCheck(r *http.Request, body []byte, id, secret string) bool {
	auth := r.Header.Get("Authorization")
	ts := r.Header.Get("X-TC-Timestamp")
	var sec int64
	if _, err := fmt.Sscan(ts, &sec); err != nil {
		return false
	}
	day := time.Unix(sec, 0).UTC().Format("2006-01-02")
	sum := sha256.Sum256(body)
	creq := strings.Join([]string{"POST", "/", "", "content-type:" + r.Header.Get("Content-Type"), "host:" + r.Host, "",
		"content-type;host", hex.EncodeToString(sum[:])}, "\n")
	csum := sha256.Sum256([]byte(creq))
	sts := "TC3-HMAC-SHA256\n" + ts + "\n" + day + "/sms/tc3_request\n" + hex.EncodeToString(csum[:])
	k := []byte("TC3" + secret)
	for _, part := range []string{day, "sms", "tc3_request", sts} {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(part))
		k = m.Sum(nil)
	}
	want := fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s/sms/tc3_request, SignedHeaders=content-type;host, Signature=%x", id, day, k)
	return hmac.Equal([]byte(auth), []byte(want)) && r.Header.Get("X-TC-Action") == "SendSms" && r.Header.Get("X-TC-Version") == "2021-01-11"
}

func newFakeTencent(t *testing.T, id, secret string) *fakeSMS {
	f := &fakeSMS{answer: "ok"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !tencentCheck(r, body, id, secret) {
			f.mu.Lock()
			f.bad++
			f.mu.Unlock()
			io.WriteString(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"r"}}`)
			return
		}
		switch f.mode() {
		case "throttle":
			io.WriteString(w, `{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too many"},"RequestId":"r"}}`)
			return
		case "refuse":
			io.WriteString(w, `{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8613800000000","Code":"InvalidParameterValue.IncorrectPhoneNumber","Message":"bad number"}],"RequestId":"r"}}`)
			return
		case "down":
			w.WriteHeader(502)
			return
		}
		m := map[string]any{}
		json.Unmarshal(body, &m)
		f.mu.Lock()
		f.got = append(f.got, m)
		n := len(f.got)
		f.mu.Unlock()
		fmt.Fprintf(w, `{"Response":{"SendStatusSet":[{"SerialNo":"serial-%d","PhoneNumber":"+8613800000000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r"}}`, n)
	}))
	t.Cleanup(f.Close)
	return f
}

var msg = &civiq.ChannelMessage{ID: "ntf_abc", Kind: civiq.NoticeCalled, To: "13800000000", Template: "SMS_4",
	Params: []civiq.NoticeParam{{Name: "number", Value: "A001"}, {Name: "counter", Value: "3号窗口"}}}

// TestSMSProviders: each adapter's request checks with the stand-in's own
// signature, carries the template, parameters and the message's id, and
// each answer is read: success, throttled (try again), refused (final),
// the provider down (try again), a wrong secret (final).
func TestSMSProviders(t *testing.T) {
	ali := newFakeAliyun(t, "ali-secret")
	ten := newFakeTencent(t, "AKIDtest", "ten-secret")
	mk := map[string]func(secret string) civiq.Channel{
		"aliyun": func(secret string) civiq.Channel {
			ch, err := notify.NewAliyun(http.DefaultClient)(&civiq.ProviderSettings{Provider: "aliyun", Endpoint: ali.URL,
				KeyID: "ali-id", Secret: secret, SignName: "示范大厅"})
			if err != nil {
				t.Fatal(err)
			}
			return ch
		},
		"tencent": func(secret string) civiq.Channel {
			ch, err := notify.NewTencent(http.DefaultClient)(&civiq.ProviderSettings{Provider: "tencent", Endpoint: ten.URL,
				KeyID: "AKIDtest", Secret: secret, SignName: "示范大厅", AppID: "1400000000"})
			if err != nil {
				t.Fatal(err)
			}
			return ch
		},
	}
	fakes := map[string]*fakeSMS{"aliyun": ali, "tencent": ten}
	secrets := map[string]string{"aliyun": "ali-secret", "tencent": "ten-secret"}
	for _, name := range []string{"aliyun", "tencent"} {
		f, ch := fakes[name], mk[name](secrets[name])
		for _, c := range []struct {
			answer string
			status string
			retry  bool
		}{{"ok", civiq.NoticeSent, false}, {"throttle", civiq.NoticeFailed, true}, {"refuse", civiq.NoticeFailed, false}, {"down", civiq.NoticeFailed, true}} {
			f.mu.Lock()
			f.answer = c.answer
			f.mu.Unlock()
			r := ch.Send(context.Background(), msg)
			if r.Status != c.status || r.Retry != c.retry || r.Code == "" {
				t.Errorf("%s answering %s: %+v", name, c.answer, r)
			}
			if c.answer == "ok" && r.ProviderID == "" {
				t.Errorf("%s: no provider id: %+v", name, r)
			}
		}
		if r := mk[name]("wrong").Send(context.Background(), msg); r.Status != civiq.NoticeFailed || r.Retry || !strings.Contains(r.Code, "Signature") {
			t.Errorf("%s with a wrong secret: %+v", name, r)
		}
		if f.bad != 1 {
			t.Errorf("%s: %d requests failed the signature, want the 1 with the wrong secret", name, f.bad)
		}
		if got := f.took(); len(got) != 1 {
			t.Errorf("%s took %d messages", name, len(got))
		}
	}
	a := ali.took()[0]
	if a["PhoneNumbers"] != "13800000000" || a["SignName"] != "示范大厅" || a["TemplateCode"] != "SMS_4" || a["OutId"] != "ntf_abc" ||
		a["TemplateParam"] != `{"counter":"3号窗口","number":"A001"}` || a["Action"] != "SendSms" {
		t.Errorf("aliyun took %v", a)
	}
	b, _ := json.Marshal(ten.took()[0])
	if want := `{"PhoneNumberSet":["+8613800000000"],"SessionContext":"ntf_abc","SignName":"示范大厅","SmsSdkAppId":"1400000000","TemplateId":"SMS_4","TemplateParamSet":["A001","3号窗口"]}`; string(b) != want {
		t.Errorf("tencent took %s\nwant %s", b, want)
	}
	// Length rules: Aliyun 35 characters a variable, Tencent 12, or the
	// hall's own.
	if r := mk["tencent"]("x").Rules(); r.MaxParamLen != 12 || !r.Templates {
		t.Errorf("tencent rules %+v", r)
	}
	ch, err := notify.NewAliyun(http.DefaultClient)(&civiq.ProviderSettings{Provider: "aliyun", KeyID: "i", Secret: "s", SignName: "n",
		Extra: map[string]string{"max_param_len": "20"}})
	if err != nil || ch.Rules().MaxParamLen != 20 {
		t.Errorf("aliyun with max_param_len 20: %v %+v", err, ch)
	}
	for _, p := range []*civiq.ProviderSettings{
		{Provider: "aliyun", KeyID: "i", Secret: "s"},                 // no sign name
		{Provider: "tencent", KeyID: "i", Secret: "s", SignName: "n"}, // no app id
		{Provider: "aliyun", KeyID: "i", Secret: "s", SignName: "n", Extra: map[string]string{"max_param_len": "x"}},
	} {
		mk := notify.NewAliyun(http.DefaultClient)
		if p.Provider == "tencent" {
			mk = notify.NewTencent(http.DefaultClient)
		}
		if _, err := mk(p); err == nil {
			t.Errorf("settings %+v made a channel", p)
		}
	}
}

// TestSMSHallDay: a hall sending by a provider's stand-in: the message
// goes signed, the list shows it sent with the provider's id; a parameter
// longer than the provider takes fails before sending.
func TestSMSHallDay(t *testing.T) {
	for _, provider := range []string{"aliyun", "tencent"} {
		t.Run(provider, func(t *testing.T) {
			var f *fakeSMS
			sms := map[string]any{"provider": provider, "access_key_id": "AKIDtest", "sign_name": "示范大厅", "app_id": "1400000000",
				"templates": map[string]string{"taken": "T1", "called": "T4"}}
			if provider == "aliyun" {
				f = newFakeAliyun(t, "sec")
			} else {
				f = newFakeTencent(t, "AKIDtest", "sec")
			}
			sms["endpoint"], sms["access_key_secret"] = f.URL, "sec"
			s := node(t, map[string]any{"sms": sms}, allowLoopback)
			tk := issue(t, s, "tax")
			if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil); code != 201 {
				t.Fatalf("opt in: %d", code)
			}
			deadline := time.Now().Add(20 * time.Second)
			for len(f.took()) < 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			callNext(t, s, "5")
			var list struct{ Messages []civiq.Notice }
			for time.Now().Before(deadline) {
				s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &list)
				if len(list.Messages) == 2 && list.Messages[1].Status != civiq.NoticeQueued && list.Messages[1].Status != civiq.NoticeSending {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(list.Messages) != 2 {
				t.Fatalf("messages %+v", list.Messages)
			}
			taken, called := list.Messages[0], list.Messages[1]
			if taken.Kind != "taken" || taken.Status != civiq.NoticeSent || taken.ProviderID == "" || taken.Provider != provider {
				t.Errorf("taken: %+v", taken)
			}
			// 5号窗口 fits Aliyun's 35 and Tencent's 12: sent.
			if called.Kind != "called" || called.Status != civiq.NoticeSent {
				t.Errorf("called: %+v", called)
			}
			if f.bad != 0 || len(f.took()) != 2 {
				t.Errorf("the provider took %d, %d badly signed", len(f.took()), f.bad)
			}
		})
	}
}

// allowLoopback lets a node reach the stand-ins on loopback, as a
// private cloud's endpoint would need (civiq serve --notify-allow).
func allowLoopback(s *civiqtest.Server) {
	s.SetNotifyAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
}

// TestLongNamesCut: a counter's or service's name longer than the
// provider's rule (Tencent's 12) is cut to it, so that the called and
// transferred messages go rather than failing (params); the counter's
// keeps its end, where the counter's number is. The called message names
// the counter of the call even when the transfer that follows is planned
// with it (it had none: the ticket's counter as it is after the transfer).
func TestLongNamesCut(t *testing.T) {
	f := newFakeTencent(t, "AKIDtest", "sec")
	sms := map[string]any{"provider": "tencent", "access_key_id": "AKIDtest", "access_key_secret": "sec", "sign_name": "示范大厅",
		"app_id": "1400000000", "endpoint": f.URL, "templates": map[string]string{"called": "T4", "transferred": "T6"}}
	s := node(t, map[string]any{"sms": sms}, allowLoopback)
	rename(t, s, "counters", "5", "不动产登记交易综合受理区5号窗口")
	rename(t, s, "services", "property", "不动产登记二手房转移登记业务")
	tk := issue(t, s, "tax")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil); code != 201 {
		t.Fatalf("opt in: %d", code)
	}
	callNext(t, s, "5")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/transfer", s.Admin, map[string]string{"service_id": "property"}, nil); code != 200 {
		t.Fatalf("transfer: %d", code)
	}
	// The provider's answers are recorded after it took the messages:
	// wait for the list to say how they went.
	want := []string{"called sent Ok", "transferred sent Ok"}
	var got []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var list struct{ Messages []civiq.Notice }
		s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &list)
		got = got[:0]
		for _, m := range list.Messages {
			got = append(got, m.Kind+" "+m.Status+" "+m.Code)
		}
		if slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("messages: %v", got)
	}
	var params []string
	for _, m := range f.took() {
		ps, _ := m["TemplateParamSet"].([]any)
		params = append(params, fmt.Sprintf("%s|%s", ps...))
	}
	if want := []string{"C001|…交易综合受理区5号窗口", "C001|不动产登记二手房转移登…"}; !slices.Equal(params, want) {
		t.Errorf("the parameters: %q, want %q", params, want)
	}
}

// TestOptInPastBudget: once the hall's SMS of the day reach its budget,
// an SMS opt-in is 409 rather than a promise of texts that would all fail
// (budget).
func TestOptInPastBudget(t *testing.T) {
	s := node(t, map[string]any{"sms": map[string]any{"provider": "log"}, "daily_budget": 1})
	first := issue(t, s, "tax")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+first.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil); code != 201 {
		t.Fatalf("opt in within the budget: %d", code)
	}
	var rep struct{ Report civiq.NotifyReport }
	for deadline := time.Now().Add(20 * time.Second); rep.Report.SMSToday < 1 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s.Call(t, "GET", "/api/v1/halls/demo/notifications/report", s.Admin, nil, &rep)
	}
	second := issue(t, s, "tax")
	var bad struct{ Error struct{ Message string } }
	if code := s.Call(t, "POST", "/api/v1/tickets/"+second.ID+"/notify", "", map[string]string{"phone": "13800000002"}, &bad); code != 409 ||
		!strings.Contains(bad.Error.Message, "budget") {
		t.Fatalf("opt in past the budget: %d %+v", code, bad)
	}
}

// rename gives the demo hall's counter or service (what: "counters",
// "services") id another name, the rest as it is.
func rename(t *testing.T, s *civiqtest.Server, what, id, name string) {
	t.Helper()
	var list map[string][]map[string]any
	s.Call(t, "GET", "/api/v1/halls/demo/"+what, s.Admin, nil, &list)
	for _, x := range list[what] {
		if x["id"] == id {
			x["name"] = name
			if code := s.Call(t, "PUT", "/api/v1/halls/demo/"+what+"/"+id, s.Admin, x, nil); code != 200 {
				t.Fatalf("rename %s %s: %d", what, id, code)
			}
			return
		}
	}
	t.Fatalf("no %s %s", what, id)
}
