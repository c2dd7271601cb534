package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlstore"
)

// commonSeeds are bodies every decode target starts from: valid, empty,
// malformed, wrong types, trailing data, deep nesting.
var commonSeeds = []string{
	``, ` `, `{}`, `null`, `[]`, `"x"`, `5`, `{`, `}`, `{"`, `{"a":}`, `{"a":1,}`, `{}}`, `{}]`, `{} {}`, `{}x`,
	`{"service_id":5}`, `{"service_id":null}`, `{"service_id":["a"]}`, `{"service_id":{"a":1}}`, `{"service_id":true}`,
	`{"score":1e400}`, `{"score":-1}`, `{"score":1.5}`, `{"score":"5"}`, `{"score":9223372036854775808}`,
	`{"hall_ids":"demo"}`, `{"hall_ids":[1]}`, `{"max_calls":"3"}`, `{"priority_groups":[null,2]}`,
	`{"a":"\ud800"}`, "{\"a\":\"\xff\xfe\"}", `{"a":"\u0000"}`,
	strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000),
	strings.Repeat(`[`, 20000),
	"\ufeff{}", "{\"service_id\":\"general\"}\x00",
}

// checkDecode is what decode promises: nil only for a JSON object (or an
// empty body when nothing is required) holding every required field, else a
// *civiq.Error with code invalid.
func checkDecode(t *testing.T, body []byte, err error, required []string) {
	t.Helper()
	if err != nil {
		e, ok := err.(*civiq.Error)
		if !ok {
			t.Fatalf("decode(%q): %T %v, want *civiq.Error", body, err, err)
		}
		if e.Code != civiq.EInvalid || e.Message == "" {
			t.Fatalf("decode(%q): %+v, want code invalid with a message", body, e)
		}
		return
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if len(required) > 0 {
			t.Fatalf("decode(%q) accepted an empty body missing %v", body, required)
		}
		return
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		t.Fatalf("decode(%q) accepted what is not one JSON object", body)
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &present); err != nil {
		t.Fatalf("decode(%q) accepted what is not a JSON object: %v", body, err)
	}
	for _, f := range required {
		if raw, ok := present[f]; !ok || string(raw) == "null" {
			t.Fatalf("decode(%q) accepted a body without %s", body, f)
		}
	}
}

// fuzzDecode fuzzes decode into a T with the required fields.
func fuzzDecode[T any](f *testing.F, seeds []string, required ...string) {
	for _, s := range append(seeds, commonSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v T
		err := decode(body, &v, required...)
		checkDecode(t, body, err, required)
		if want := decodable[T](body, required); (err == nil) != want {
			t.Fatalf("decode(%q) = %v, want it accepted: %v", body, err, want)
		}
	})
}

// decodable is what decode must accept, worked out by encoding/json alone:
// one JSON object (an empty body is {} when nothing is required) that
// unmarshals into a T and holds each required field, not null, at its top
// level.
func decodable[T any](body []byte, required []string) bool {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return len(required) == 0
	}
	var v T
	var present map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &v) != nil || json.Unmarshal(trimmed, &present) != nil {
		return false
	}
	for _, f := range required {
		if raw, ok := present[f]; !ok || string(raw) == "null" {
			return false
		}
	}
	return true
}

func FuzzDecodeIssue(f *testing.F) {
	fuzzDecode[issueRequest](f, []string{
		`{"service_id":"general"}`, `{"service_id":"general","channel":"remote"}`,
		`{"service_id":"general","channel":"kiosk","priority_group":"elderly"}`, `{"channel":"remote"}`,
		`{"service_id":"general"}}`, `{"service_id":"general","service_id":1}`, `{"SERVICE_ID":"general"}`,
		`{"service_id":"general","on_behalf":{"role":"family"}}`, `{"service_id":"general","on_behalf":"family"}`,
		`{"service_id":"general","on_behalf":null}`, `{"service_id":"general","on_behalf":{"role":1}}`,
		`{"on_behalf":{"service_id":"general"}}`, `{"channel":"service_id","x":["service_id"]}`, `{"\u0073ervice_id":"general"}`,
		`{"service_id":"general","service_id":null}`, `{"service_id":null,"service_id":"general"}`, `{ "service_id" : null }`,
		`{"a\"service_id":1,"service_id":"x"}`, `{"service_id":"\"}","channel":"kiosk"}`, `{"x":{"service_id":null},"service_id":"y"}`,
	}, "service_id")
}

// FuzzDecodeIssueFlat holds decodeIssue to decode's answer on any body,
// and flatIssue to accept only what decode reads to the same request.
func FuzzDecodeIssueFlat(f *testing.F) {
	for _, s := range append([]string{
		`{"service_id":"general","channel":"kiosk"}`, ` {"service_id" : "general" ,"channel":"remote"}` + "\n",
		`{"service_id":"general","channel":"kiosk","priority_group":"elderly","id_number":"110101194001011234","guide_id":"g1"}`,
		`{"channel":"kiosk","service_id":"tax","service_id":"general"}`, `{"service_id":""}`, `{"service_id":"a","x":"b"}`,
		`{"service_id":"a",}`, `{"service_id":"a"`, `{"service_id":"a"} x`, `{"service_id":"a\u0062"}`, "{\"service_id\":\"\x7f\"}",
		"\v{\"service_id\":\"a\"}", `{"Service_ID":"a"}`, `{"service_id":"a","on_behalf":{"role":"family"}}`, `{"service_id":"a","channel":null}`,
	}, commonSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want issueRequest
		werr := decode(body, &want, "service_id")
		got, err := decodeIssue(body)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("decodeIssue(%q) = %+v, %v; decode: %+v, %v", body, got, err, want, werr)
		}
		if flat, ok := flatIssue(body); ok && (werr != nil || !reflect.DeepEqual(flat, want)) {
			t.Fatalf("flatIssue(%q) = %+v; decode: %+v, %v", body, flat, want, werr)
		}
	})
}

func FuzzDecodeTransfer(f *testing.F) {
	fuzzDecode[transferRequest](f, []string{`{"service_id":"tax"}`, `{"service_id":""}`, `{"service":"tax"}`}, "service_id")
}

func FuzzDecodeLogin(f *testing.F) {
	fuzzDecode[loginRequest](f, []string{
		`{"username":"admin","password":"secret-password"}`, `{"username":"admin"}`, `{"password":"x"}`,
		`{"username":1,"password":2}`, `{"username":"admin","password":null}`,
	}, "username", "password")
}

func FuzzDecodeRating(f *testing.F) {
	fuzzDecode[ratingRequest](f, []string{`{"score":5}`, `{"score":5,"comment":"很好"}`, `{"comment":"x"}`, `{"score":5,"comment":5}`}, "score")
}

func FuzzDecodeCounterStatus(f *testing.F) {
	fuzzDecode[counterStatusRequest](f, []string{`{"status":"open"}`, `{"status":"paused","reason":"午休"}`, `{"reason":"x"}`}, "status")
}

func FuzzDecodeAnnouncement(f *testing.F) {
	fuzzDecode[announcementRequest](f, []string{`{"text":"请注意"}`, `{"text":""}`, `{"text":["a"]}`}, "text")
}

func FuzzDecodeUser(f *testing.F) {
	fuzzDecode[userRequest](f, []string{
		`{"username":"u","password":"long-enough-pw","role":"staff","hall_ids":["demo"]}`,
		`{"username":"u","password":"long-enough-pw","role":"admin"}`, `{"username":"u","role":"staff"}`,
		`{"username":"u","password":"p","role":"staff","hall_ids":[1,2]}`,
	}, "username", "password", "role")
}

func FuzzDecodeDevice(f *testing.F) {
	fuzzDecode[deviceRequest](f, []string{`{"kind":"kiosk"}`, `{"kind":"rater","counter_id":"1"}`, `{"counter_id":1}`}, "kind")
}

func FuzzDecodePair(f *testing.F) {
	fuzzDecode[pairRequest](f, []string{`{"code":"abcd1234"}`, `{"code":12345678}`}, "code")
}

func FuzzDecodeHall(f *testing.F) {
	fuzzDecode[civiq.Hall](f, []string{
		`{"name":"大厅","timezone":"Asia/Shanghai","policy":"fifo","max_calls":3,"late_return_behind":3,"priority_groups":["elderly"],"allow_remote":true}`,
		`{"name":"x","max_calls":"3"}`, `{"name":"x","allow_remote":"yes"}`, `{"timezone":"UTC"}`,
	}, "name")
}

func FuzzDecodeService(f *testing.F) {
	fuzzDecode[serviceRequest](f, []string{`{"prefix":"A","name":"综合受理","name_en":"General","position":0}`, `{"prefix":"A"}`, `{"prefix":"A","name":"x","position":"1"}`}, "prefix", "name")
}

func FuzzDecodeCounter(f *testing.F) {
	fuzzDecode[counterRequest](f, []string{`{"name":"1号窗口","service_ids":["general","social"]}`, `{"service_ids":"general"}`, `{"name":"x"}`}, "service_ids")
}

// FuzzDecodeOptional decodes with nothing required, as for a body that
// may be empty.
func FuzzDecodeOptional(f *testing.F) {
	fuzzDecode[issueRequest](f, []string{`{"channel":"remote"}`, `{"channel":"remote"}}`, `{"channel":"remote"}]`})
}

// TestDecodeFieldErrors: a value of the wrong type names its field.
func TestDecodeFieldErrors(t *testing.T) {
	for _, c := range []struct {
		body, field string
		v           any
		required    []string
	}{
		{`{"service_id":5}`, "service_id", &issueRequest{}, []string{"service_id"}},
		{`{"service_id":"general","channel":false}`, "channel", &issueRequest{}, []string{"service_id"}},
		{`{}`, "service_id", &issueRequest{}, []string{"service_id"}},
		{`{"service_id":null}`, "service_id", &issueRequest{}, []string{"service_id"}},
		{`{"score":"5"}`, "score", &ratingRequest{}, []string{"score"}},
		{`{"username":"a"}`, "password", &loginRequest{}, []string{"username", "password"}},
		{`{"name":"x","max_calls":"3"}`, "max_calls", &civiq.Hall{}, []string{"name"}},
	} {
		err := decode([]byte(c.body), c.v, c.required...)
		e, ok := err.(*civiq.Error)
		if !ok || e.Code != civiq.EInvalid || e.Field != c.field {
			t.Errorf("decode(%s): %#v, want field %s", c.body, err, c.field)
		}
	}
	var v issueRequest
	if err := decode([]byte(" {\"service_id\":\"general\"}\n"), &v, "service_id"); err != nil || v.ServiceID != "general" {
		t.Errorf("valid body: %v %+v", err, v)
	}
	if err := decode(nil, &v); err != nil {
		t.Errorf("empty body with nothing required: %v", err)
	}
}

// fuzzServer is the API on a SQLite file with the demo hall, with the
// tokens of an admin and a kiosk.
func fuzzServer(f *testing.F) (*Server, []string) {
	store, err := sqlstore.Open(filepath.Join(f.TempDir(), "fuzz.db"), sqlstore.Options{Synchronous: "NORMAL"})
	if err != nil {
		f.Fatal(err)
	}
	hub := inmem.NewHub()
	store.Publish = hub.Publish
	eng := civiq.NewEngine(store)
	s := NewServer(eng, hub, NewMetrics())
	f.Cleanup(func() {
		s.Close()
		store.Close()
	})
	ctx := context.Background()
	if _, err := eng.Bootstrap(ctx, "fuzz-admin-password"); err != nil {
		f.Fatal(err)
	}
	if _, err := eng.LoadDemo(ctx); err != nil {
		f.Fatal(err)
	}
	admin, _, _, err := eng.Login(ctx, "admin", "fuzz-admin-password")
	if err != nil {
		f.Fatal(err)
	}
	d := &civiq.Device{Kind: civiq.DeviceKiosk, HallID: "demo"}
	if err := eng.CreateDevice(ctx, d); err != nil {
		f.Fatal(err)
	}
	kiosk, _, err := eng.PairDevice(ctx, d.PairingCode)
	if err != nil {
		f.Fatal(err)
	}
	return s, []string{"", admin, kiosk, "not-a-token"}
}

// FuzzIssueEndpoint posts arbitrary bodies to the issue endpoint, as
// anyone, an admin, a kiosk or a bad token: never a 5xx, and every error is
// the contract's error body with the status of its code.
func FuzzIssueEndpoint(f *testing.F) {
	s, tokens := fuzzServer(f)
	for i, b := range append([]string{
		`{"service_id":"general"}`, `{"service_id":"general","channel":"remote"}`, `{"service_id":"tax","channel":"kiosk"}`,
		`{"service_id":"general","priority_group":"elderly"}`, `{"service_id":"nope"}`, `{"service_id":"general","channel":"fax"}`,
		`{"service_id":"general","channel":"appointment","priority_group":"vip"}`,
	}, commonSeeds...) {
		f.Add([]byte(b), "", uint8(i))
		f.Add([]byte(b), "key-1", uint8(i+1))
	}
	f.Add([]byte(`{"service_id":"general"}`), strings.Repeat("k", 201), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, key string, who uint8) {
		r := httptest.NewRequest("POST", "/api/v1/halls/demo/tickets", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if tok := tokens[int(who)%len(tokens)]; tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		if key != "" {
			r.Header["Idempotency-Key"] = []string{key}
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("body %q key %q who %d: %d %s", body, key, who, w.Code, w.Body)
		}
		switch {
		case w.Code == 201:
			var out struct {
				Ticket *civiq.Ticket `json:"ticket"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Ticket == nil || out.Ticket.ID == "" || out.Ticket.Status != civiq.StatusWaiting {
				t.Fatalf("201 without a waiting ticket: %s", w.Body)
			}
		case w.Code >= 400:
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without an error body: %s", w.Code, w.Body)
			}
			if statuses[e.Error.Code] != w.Code {
				t.Fatalf("code %s with status %d", e.Error.Code, w.Code)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
