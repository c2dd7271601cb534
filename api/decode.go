package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/civiq/civiq"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// readBody reads the whole body, at most MaxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, civiq.Errorf(civiq.ETooLarge, "the request body is larger than %d bytes", MaxBody)
	}
	if err != nil {
		return nil, civiq.Errorf(civiq.EInvalid, "the request body could not be read")
	}
	return body, nil
}

// decode parses a JSON object into v, naming the field at fault when a value
// has the wrong type. Fields listed in required must be present and not
// null. An empty body counts as {} when nothing is required.
func decode(body []byte, v any, required ...string) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return civiq.Errorf(civiq.EInvalid, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var ce *civiq.Error // a field's own reading refused it (civiq.HaochapingMapping)
		if errors.As(err, &ce) {
			return ce
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return civiq.FieldErrorf(field, "%s must be a JSON %s", field, civiq.JSONKindName(te.Type.Kind().String()))
		}
		return civiq.Errorf(civiq.EInvalid, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	// dec.More() misses a stray '}' or ']' after the object; anything but
	// space after it is malformed.
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return civiq.Errorf(civiq.EInvalid, "malformed JSON: more than one value")
	}
	if f := missing(body, required); f != "" {
		return civiq.FieldErrorf(f, "%s is required", f)
	}
	return nil
}

// missing is the first of the required fields that the JSON object body,
// valid, lacks at its top level or has null (the last of a key given
// twice counts), or "": a walk over the bytes that decode has parsed
// already, not a second parse (it was one, into a map, before).
func missing(body []byte, required []string) string {
	if len(required) == 0 {
		return ""
	}
	var few [8]bool
	given := few[:min(len(required), len(few))]
	if len(required) > len(few) {
		given = make([]bool, len(required))
	}
	depth, isKey := 0, false
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			depth++
			isKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			isKey = depth == 1
		case '"':
			end := stringEnd(body, i)
			if !isKey {
				i = end - 1
				continue
			}
			isKey = false
			key := body[i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 { // an escape: as encoding/json reads it
				var k string
				json.Unmarshal(body[i:end], &k)
				key = []byte(k)
			}
			j := end
			for body[j] != ':' {
				j++
			}
			for j++; j < len(body) && isSpace(body[j]); j++ {
			}
			for n, f := range required {
				if string(key) == f {
					given[n] = !bytes.HasPrefix(body[j:], []byte("null"))
				}
			}
			i = j - 1
		}
	}
	for n, f := range required {
		if !given[n] {
			return f
		}
	}
	return ""
}

// stringEnd is the index just after the JSON string that starts with the
// quote at body[i].
func stringEnd(body []byte, i int) int {
	for i++; i < len(body); i++ {
		switch body[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(body)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// The request bodies of the API.

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type issueRequest struct {
	ServiceID     string          `json:"service_id"`
	Channel       string          `json:"channel"`
	PriorityGroup string          `json:"priority_group"`
	IDNumber      string          `json:"id_number"`
	GuideID       string          `json:"guide_id"`
	OnBehalf      *civiq.OnBehalf `json:"on_behalf"`
}

// decodeIssue decodes an issue request's body as decode does, service_id
// required. A kiosk's or a phone's body, a flat object of the request's
// own keys with strings of printable ASCII and no escapes, is read by
// flatIssue without encoding/json's reflection and its buffers (a few
// microseconds of each ticket); any other goes to decode.
func decodeIssue(body []byte) (issueRequest, error) {
	if req, ok := flatIssue(body); ok {
		return req, nil
	}
	var req issueRequest
	err := decode(body, &req, "service_id")
	return req, err
}

// flatIssue reads body when it is a JSON object of string values under
// issueRequest's keys other than on_behalf, service_id among them, every
// string printable ASCII without an escape, and only JSON's white space
// around; false for anything else, which decode then reads (or refuses).
// A key given twice keeps its last value, as encoding/json does.
func flatIssue(b []byte) (req issueRequest, ok bool) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return req, false
	}
	service := false
	for i = skipSpace(b, i+1); ; i = skipSpace(b, i+1) {
		key, j, ok := plainString(b, i)
		if !ok {
			return req, false
		}
		if i = skipSpace(b, j); i == len(b) || b[i] != ':' {
			return req, false
		}
		val, j, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return req, false
		}
		switch string(key) {
		case "service_id":
			req.ServiceID, service = string(val), true
		case "channel":
			req.Channel = string(val)
		case "priority_group":
			req.PriorityGroup = string(val)
		case "id_number":
			req.IDNumber = string(val)
		case "guide_id":
			req.GuideID = string(val)
		default:
			return req, false
		}
		if i = skipSpace(b, j); i == len(b) {
			return req, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return req, false
		}
	}
	return req, service && skipSpace(b, i+1) == len(b)
}

// plainString is the content of the JSON string that starts at b[i] and
// the index just after it, when it holds printable ASCII only and no
// escape.
func plainString(b []byte, i int) (s []byte, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, j, false
		}
	}
	return nil, len(b), false
}

// skipSpace is the index of the first byte at or after i that is not
// JSON's white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

type behalfRequest struct {
	OnBehalf *civiq.OnBehalf `json:"on_behalf"`
}

type callTicketRequest struct {
	TicketID string `json:"ticket_id"`
	Reason   string `json:"reason"`
}

type transferRequest struct {
	ServiceID string `json:"service_id"`
	CounterID string `json:"counter_id"`
	Clerk     string `json:"clerk"`
	Note      string `json:"note"`
}

type counterStatusRequest struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

type announcementRequest struct {
	Text string `json:"text"`
}

type userRequest struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Role     string   `json:"role"`
	HallIDs  []string `json:"hall_ids"`
}

type deviceRequest struct {
	Kind      string `json:"kind"`
	CounterID string `json:"counter_id"`
	Name      string `json:"name"`
}

type pairRequest struct {
	Code string `json:"code"`
}

type hallRequest struct {
	civiq.Hall
}

type serviceRequest struct {
	Prefix   string `json:"prefix"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en"`
	Position int    `json:"position"`
	// Quotas (号源); 0 is no limit, and an absent one keeps the
	// service's stored quota (no limit for a new service).
	DailyQuota     *int `json:"daily_quota"`
	HalfDayQuota   *int `json:"half_day_quota"`
	PerPersonDaily *int `json:"per_person_daily"`
	// Service level (alert.go), in minutes; an absent one is kept too.
	TargetWaitMinutes *int `json:"target_wait_minutes"`
	AlertWaitMinutes  *int `json:"alert_wait_minutes"`
}

// service is the request's service, and the settings it leaves out,
// which the service keeps.
func (r *serviceRequest) service(hallID, id string) (civiq.Service, civiq.KeepQuotas) {
	orZero := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	return civiq.Service{HallID: hallID, ID: id, Prefix: r.Prefix, Name: r.Name, NameEn: r.NameEn, Position: r.Position,
			DailyQuota: orZero(r.DailyQuota), HalfDayQuota: orZero(r.HalfDayQuota), PerPersonDaily: orZero(r.PerPersonDaily),
			TargetWaitMinutes: orZero(r.TargetWaitMinutes), AlertWaitMinutes: orZero(r.AlertWaitMinutes)},
		civiq.KeepQuotas{Daily: r.DailyQuota == nil, HalfDay: r.HalfDayQuota == nil, PerPerson: r.PerPersonDaily == nil,
			TargetWait: r.TargetWaitMinutes == nil, AlertWait: r.AlertWaitMinutes == nil}
}

type counterRequest struct {
	Name       string   `json:"name"`
	ServiceIDs []string `json:"service_ids"`
}
