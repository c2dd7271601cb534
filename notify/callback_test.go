package notify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/notify"
)

// The examples of the providers' documentation (SmsReport, SmsUp, Tencent's
// status and reply callbacks) read as they say.
func TestParseCallbacksDocumented(t *testing.T) {
	rs, err := notify.ParseReports("aliyun", []byte(`[{"phone_number":"1381111****","send_time":"2017-01-01 00:00:00",
		"report_time":"2017-01-01 00:00:00","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1",
		"biz_id":"12345","out_id":"67890"}]`))
	if err != nil || len(rs) != 1 || rs[0].At.Unix() != 1483200000 || (civiq.DeliveryReport{ProviderID: rs[0].ProviderID, OutID: rs[0].OutID,
		Delivered: rs[0].Delivered, Code: rs[0].Code, Error: rs[0].Error}) != (civiq.DeliveryReport{ProviderID: "12345", OutID: "67890",
		Delivered: true, Code: "DELIVERED", Error: "用户接收成功"}) {
		t.Errorf("aliyun report: %+v %v", rs, err)
	}
	rs, err = notify.ParseReports("tencent", []byte(`[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86",
		"mobile":"13xxxxxxxxx","report_status":"FAIL","errmsg":"MK:0001","description":"用户短信未送达","sid":"xxxxxxx"}]`))
	if err != nil || len(rs) != 1 || rs[0].ProviderID != "xxxxxxx" || rs[0].Delivered || rs[0].Code != "MK:0001" || rs[0].At.Unix() != 1445040184 {
		t.Errorf("tencent report: %+v %v", rs, err)
	}
	ps, err := notify.ParseReplies("aliyun", []byte(`[{"phone_number":"13800000000","send_time":"2017-01-01 00:00:00",
		"content":"TD","sign_name":"阿里云","dest_code":"1234","sequence_id":1234567890}]`))
	if err != nil || len(ps) != 1 || ps[0].Phone != "13800000000" || ps[0].Text != "TD" {
		t.Errorf("aliyun reply: %+v %v", ps, err)
	}
	ps, err = notify.ParseReplies("tencent", []byte(`{"extend":"","mobile":"7700900123","nationcode":"44","sign":"示范","text":"退订","time":1457336869}`))
	if err != nil || len(ps) != 1 || ps[0].Phone != "+447700900123" || ps[0].Text != "退订" || ps[0].At.Unix() != 1457336869 {
		t.Errorf("tencent reply: %+v %v", ps, err)
	}
	for _, bad := range []string{``, `{}`, `[1]`, `"x"`, `[{"success":"yes"}]`, strings.Repeat(" ", notify.MaxCallback+1)} {
		if _, err := notify.ParseReports("aliyun", []byte(bad)); err == nil {
			t.Errorf("report %.20q read", bad)
		}
	}
}

func TestOptOutReplyText(t *testing.T) {
	for text, want := range map[string]bool{"TD": true, " td。": true, "退订": true, "T": true, "n": true, "STOP": true,
		"谢谢": false, "TD 谢谢": false, "": false, "1": false} {
		if got := civiq.OptOutReplyText(text); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}

func fuzzCallback(f *testing.F, parse func(provider string, b []byte) (int, []string, error)) {
	f.Add("aliyun", []byte(`[{"success":true,"biz_id":"1","out_id":"ntf_x","err_code":"DELIVERED","report_time":"2017-01-01 00:00:00"}]`))
	f.Add("tencent", []byte(`[{"report_status":"SUCCESS","sid":"s","errmsg":"DELIVRD"}]`))
	f.Add("tencent", []byte(`{"mobile":"13800000000","nationcode":"86","text":"TD","time":1}`))
	f.Add("aliyun", []byte(`[{"phone_number":"13800000000","content":"退订"}]`))
	f.Fuzz(func(t *testing.T, provider string, b []byte) {
		n, strs, err := parse(provider, b)
		if err != nil {
			return
		}
		if n > 1000 {
			t.Errorf("%d items", n)
		}
		for _, s := range strs {
			if !utf8.ValidString(s) && len(s) > 64 {
				t.Errorf("%q: an id or code kept long and broken", s)
			}
		}
	})
}

func FuzzParseReports(f *testing.F) {
	fuzzCallback(f, func(p string, b []byte) (int, []string, error) {
		rs, err := notify.ParseReports(p, b)
		var out []string
		for _, r := range rs {
			out = append(out, r.ProviderID, r.OutID, r.Code)
		}
		return len(rs), out, err
	})
}

func FuzzParseReplies(f *testing.F) {
	fuzzCallback(f, func(p string, b []byte) (int, []string, error) {
		rs, err := notify.ParseReplies(p, b)
		return len(rs), nil, err
	})
}

// TestSMSReportsAndReplies: each provider's delivery report, pushed to the
// hall's callback URL, marks its message delivered or failed with the
// carrier's code (in the messages list); a reply TD from a number ends the
// hall's messages to it (another ticket of the number gets no "called"),
// and the number given again lifts that. A wrong token is 404, a body not
// of the provider's 400.
func TestSMSReportsAndReplies(t *testing.T) {
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
			var st struct{ Notifications civiq.NotifySettings }
			s.Call(t, "GET", "/api/v1/halls/demo/notifications", s.Admin, nil, &st)
			token := st.Notifications.CallbackToken
			if len(token) != 32 {
				t.Fatalf("callback token %q", token)
			}
			base := "/api/v1/halls/demo/notifications/callbacks/" + token + "/" + provider + "/"
			a, b := issue(t, s, "tax"), issue(t, s, "tax")
			for _, tk := range []civiq.Ticket{a, b} {
				if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil); code != 201 {
					t.Fatalf("opt in: %d", code)
				}
			}
			list := func() []civiq.Notice {
				var l struct{ Messages []civiq.Notice }
				s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &l)
				return l.Messages
			}
			deadline := time.Now().Add(20 * time.Second)
			for len(f.took()) < 2 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			callNext(t, s, "5") // a
			for len(f.took()) < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			ms := list()
			for time.Now().Before(deadline) && (len(ms) != 3 || ms[2].Status != civiq.NoticeSent) {
				time.Sleep(20 * time.Millisecond)
				ms = list()
			}
			if len(ms) != 3 {
				t.Fatalf("messages %+v", ms)
			}
			var body string
			if provider == "aliyun" {
				body = fmt.Sprintf(`[{"phone_number":"13800000001","report_time":"2026-12-06 10:00:00","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","biz_id":%q,"out_id":%q},
					{"phone_number":"13800000001","success":false,"err_code":"MK:0001","err_msg":"空号","biz_id":%q,"out_id":%q},
					{"success":true,"out_id":"ntf_another_system"}]`, ms[0].ProviderID, ms[0].ID, ms[2].ProviderID, ms[2].ID)
			} else {
				body = fmt.Sprintf(`[{"user_receive_time":"2026-12-06 10:00:00","nationcode":"86","mobile":"13800000001","report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":%q},
					{"nationcode":"86","mobile":"13800000001","report_status":"FAIL","errmsg":"MK:0001","description":"空号","sid":%q},
					{"report_status":"SUCCESS","sid":"unknown"}]`, ms[0].ProviderID, ms[2].ProviderID)
			}
			if code := s.Call(t, "POST", base+"report", "", json.RawMessage(body), nil); code != 200 {
				t.Fatalf("report: %d", code)
			}
			ms = list()
			if ms[0].Status != civiq.NoticeDelivered || ms[0].ReportedAt == nil || ms[2].Status != civiq.NoticeFailed || ms[2].Code != "MK:0001" {
				t.Errorf("after the report: %+v", ms)
			}
			for path, want := range map[string]int{
				"/api/v1/halls/demo/notifications/callbacks/" + strings.Repeat("0", 32) + "/" + provider + "/report": 404,
				"/api/v1/halls/demo/notifications/callbacks/" + token + "/other/report":                              404,
				base + "nothing": 404,
			} {
				if code := s.Call(t, "POST", path, "", json.RawMessage(body), nil); code != want {
					t.Errorf("POST %s: %d, want %d", path, code, want)
				}
			}
			if code := s.Call(t, "POST", base+"report", "", json.RawMessage(`{"not":"a list"}`), nil); code != 400 {
				t.Errorf("a bad report: %d", code)
			}
			// The number replies TD: b (of the same number) is called and
			// not told.
			reply := `[{"phone_number":"13800000001","send_time":"2026-12-06 10:01:00","content":"TD","sign_name":"示范大厅","dest_code":"1","sequence_id":1}]`
			if provider == "tencent" {
				reply = `{"extend":"","mobile":"13800000001","nationcode":"86","sign":"示范大厅","text":"TD","time":1765000000}`
			}
			var ans map[string]any
			if code := s.Call(t, "POST", base+"reply", "", json.RawMessage(reply), &ans); code != 200 || !bytes.Contains([]byte(fmt.Sprint(ans)), []byte("0")) {
				t.Fatalf("reply: %d %v", code, ans)
			}
			took := len(f.took())
			if code := s.Call(t, "POST", "/api/v1/tickets/"+a.ID+"/finish", s.Admin, nil, nil); code != 200 {
				t.Fatalf("finish: %d", code)
			}
			callNext(t, s, "5") // b
			time.Sleep(500 * time.Millisecond)
			s.Outbound.Notify()
			time.Sleep(300 * time.Millisecond)
			if len(f.took()) != took {
				t.Errorf("%d messages sent after the reply TD", len(f.took())-took)
			}
			// Given again (a new ticket), the number is told again.
			c := issue(t, s, "tax")
			if code := s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil); code != 201 {
				t.Fatalf("opt in again: %d", code)
			}
			for len(f.took()) == took && time.Now().Before(deadline.Add(10*time.Second)) {
				time.Sleep(20 * time.Millisecond)
			}
			if len(f.took()) != took+1 {
				t.Errorf("opted in again: %d sent, want 1", len(f.took())-took)
			}
		})
	}
}

// TestOptOutPageEndsNumber: "stop the texts" on one ticket's phone page
// ends the hall's messages to that number, its other tickets' too; the
// number given again (a new ticket) is told again.
func TestOptOutPageEndsNumber(t *testing.T) {
	s := node(t, nil)
	a, b := issue(t, s, "tax"), issue(t, s, "tax")
	for _, tk := range []civiq.Ticket{a, b} {
		if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000009"}, nil); code != 201 {
			t.Fatalf("opt in: %d", code)
		}
	}
	await(t, s, 3) // a taken and next, b taken
	if code := s.Call(t, "DELETE", "/api/v1/tickets/"+a.ID+"/notify?medium=sms", "", nil, nil); code != 204 {
		t.Fatalf("opt out: %d", code)
	}
	before := told(s)
	callNext(t, s, "5")
	s.Call(t, "POST", "/api/v1/tickets/"+a.ID+"/finish", s.Admin, nil, nil)
	callNext(t, s, "5") // b, of the same number
	// What is due went by now (notify.Gather).
	time.Sleep(500 * time.Millisecond)
	if got := await(t, s, len(before)); len(got) != len(before) {
		t.Fatalf("after the opt-out: %v, want %v", got, before)
	}
	c := issue(t, s, "tax")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/notify", "", map[string]string{"phone": "13800000009"}, nil); code != 201 {
		t.Fatalf("opt in again: %d", code)
	}
	if got := await(t, s, len(before)+1); !slices.Contains(got, "C003 taken") {
		t.Errorf("given again: %v", got)
	}
}
