package civiq

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// 好差评 reporting to the provincial platform (issue 13, 国办发〔2019〕51号):
// every rating and every outcome of a follow-up (rectified, revisited with
// the citizen's view, rejected as invalid) goes to the platform. A reporter
// is a subscriber of the events table (delivery.go) of kind
// SubscriberHaochaping, for some halls or all, delivered like any other:
// cursor, retries, order, lease. Its sender (package outbound) asks
// HaochapingMessage for the record an event stands for, built from the
// default field set (HaochapingFields) and shaped by the installation's
// mapping (HaochapingMapping: field names, code tables, time format), and
// posts it with a shared key's HMAC of the body or a bearer token.

// SubscriberHaochaping is the kind of a 好差评 reporter.
const SubscriberHaochaping = "haochaping"

// haochapingEvents are the event types a reporter reads.
var haochapingEvents = []string{EventFollowUp, EventRated}

// Record types.
const (
	RecordRating   = "rating"
	RecordFollowUp = "followup"
)

// reportedOutcome reports whether a follow-up move is an outcome the
// platform is told of.
func reportedOutcome(move string) bool {
	return move == FollowUpRectified || move == FollowUpRevisited || move == FollowUpRejected
}

// HaochapingRecordID is the stable id of the record an event stands for:
// "rating:<ticket id>" for a rating, "followup:<case id>:<move>" for the
// outcome of a follow-up; "" when the event stands for none.
func HaochapingRecordID(ev *Event) string {
	switch {
	case ev.Type == EventRated && ev.Ticket != nil:
		return RecordRating + ":" + ev.Ticket.ID
	case ev.Type == EventFollowUp && ev.FollowUp != nil:
		move := ev.FollowUp.Move
		if move == "" { // events written before they named the move
			move = ev.FollowUp.Status
		}
		if reportedOutcome(move) {
			return RecordFollowUp + ":" + strconv.FormatInt(ev.FollowUp.ID, 10) + ":" + move
		}
	}
	return ""
}

// HaochapingField is a field of the default record.
type HaochapingField struct {
	Name  string `json:"name"`
	Label string `json:"label"` // its Chinese name: the header of the day's export
	// Personal fields are sent only when the mapping names them, and only
	// over https; the export leaves them out.
	Personal bool `json:"personal,omitempty"`
	// FollowUp fields are in follow-up records only.
	FollowUp bool `json:"followup,omitempty"`
}

// HaochapingFields is the default field set, in order (docs/api.md).
var HaochapingFields = []HaochapingField{
	{Name: "record_id", Label: "记录编号"},
	{Name: "record_type", Label: "记录类型"},
	{Name: "case_number", Label: "办件编号"},
	{Name: "item_code", Label: "事项编码"},
	{Name: "item_name", Label: "事项名称"},
	{Name: "department", Label: "部门"},
	{Name: "department_code", Label: "部门编码"},
	{Name: "region_code", Label: "行政区划代码"},
	{Name: "hall_id", Label: "大厅编号"},
	{Name: "hall_name", Label: "大厅名称"},
	{Name: "channel", Label: "评价渠道"},
	{Name: "channel_name", Label: "评价渠道名称"},
	{Name: "level", Label: "评价等级"},
	{Name: "level_name", Label: "评价等级名称"},
	{Name: "rated_at", Label: "评价时间"},
	{Name: "reasons", Label: "差评原因"},
	{Name: "reason_names", Label: "差评原因名称"},
	{Name: "reason_text", Label: "差评内容"},
	{Name: "window", Label: "窗口号"},
	{Name: "staff_id", Label: "工作人员编号"},
	{Name: "staff_name", Label: "工作人员"},
	{Name: "outcome", Label: "处理结果", FollowUp: true},
	{Name: "outcome_at", Label: "处理时间", FollowUp: true},
	{Name: "rectification", Label: "整改情况", FollowUp: true},
	{Name: "rectified_at", Label: "整改时间", FollowUp: true},
	{Name: "revisit_view", Label: "回访满意度", FollowUp: true},
	{Name: "revisit_view_name", Label: "回访满意度名称", FollowUp: true},
	{Name: "rejection_reason", Label: "无效认定理由", FollowUp: true},
	{Name: "overdue", Label: "是否超期", FollowUp: true},
	{Name: "contact_phone", Label: "联系电话", Personal: true},
	{Name: "applicant_name", Label: "申请人姓名", Personal: true},
}

func haochapingField(name string) (HaochapingField, bool) {
	for _, f := range HaochapingFields {
		if f.Name == name {
			return f, true
		}
	}
	return HaochapingField{}, false
}

// ScoreNames are the national names of the five levels.
var ScoreNames = map[int]string{5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

// RatingChannelNames are the national names of where a rating came from
// (评价渠道). The phone page is reached from the ticket's QR code.
var RatingChannelNames = map[string]string{RatingRater: "窗口评价器", RatingPhone: "二维码", RatingWeb: "网上", RatingDefault: "默认评价",
	RatingProvince: "省级评价页面"}

// CitizenViewNames are the names of the citizen's view at the revisit
// (回访满意度).
var CitizenViewNames = map[string]string{ViewSatisfied: "满意", ViewBasicallySatisfied: "基本满意", ViewNotSatisfied: "不满意"}

// HaochapingRecord is one record: field name to value (a string, an int,
// a bool, a time.Time or a []string); a field not in it is absent.
type HaochapingRecord map[string]any

// RecordTime is how a record's times are written in files and by default:
// the hall's local time.
const RecordTime = "2006-01-02 15:04:05"

// Strings is the record as the day's export writes it, a cell per default
// field that is not personal: times in the hall's zone, lists joined with
// "；", yes/no as 是/否.
func (r HaochapingRecord) Strings(loc *time.Location) []string {
	out := make([]string, 0, len(HaochapingFields))
	for _, f := range HaochapingFields {
		if f.Personal {
			continue
		}
		var s string
		switch v := r[f.Name].(type) {
		case string:
			s = v
		case int:
			s = strconv.Itoa(v)
		case bool:
			s = map[bool]string{true: "是", false: "否"}[v]
		case time.Time:
			s = v.In(loc).Format(RecordTime)
		case []string:
			s = strings.Join(v, "；")
		}
		out = append(out, s)
	}
	return out
}

// HaochapingHeaders are the export's headers: the Chinese names of the
// fields Strings writes.
func HaochapingHeaders() []string {
	var out []string
	for _, f := range HaochapingFields {
		if !f.Personal {
			out = append(out, f.Label)
		}
	}
	return out
}

// Time formats of a mapping.
const (
	TimeDatetime = "datetime" // 2006-01-02 15:04:05 in the hall's zone: the default
	TimeRFC3339  = "rfc3339"
	TimeUnix     = "unix"    // seconds
	TimeUnixMS   = "unix_ms" // milliseconds
)

// HaochapingMapping shapes the record for one platform (a JSON template
// set per reporter, docs/api.md).
type HaochapingMapping struct {
	// Fields renames default fields: default name to the platform's. A
	// field renamed to "" is left out. Personal fields are sent only when
	// named here.
	Fields map[string]string `json:"fields,omitempty"`
	// OnlyMapped sends only the fields named in Fields.
	OnlyMapped bool `json:"only_mapped,omitempty"`
	// Codes are code tables by default field name: civiq's value (a
	// level "1".."5", a channel, a reason code, "true"/"false") to the
	// platform's. Values not in a table are sent as they are.
	Codes map[string]map[string]string `json:"codes,omitempty"`
	// TimeFormat: datetime (the default), rfc3339, unix or unix_ms.
	TimeFormat string `json:"time_format,omitempty"`
	// ListJoin, when set, sends lists (the reasons) as one text joined by
	// it.
	ListJoin string `json:"list_join,omitempty"`
	// Constants are fields added as given (a platform's app id, a version).
	Constants map[string]string `json:"constants,omitempty"`
	// Envelope, when set, puts the record under this key.
	Envelope string `json:"envelope,omitempty"`
}

// mappingKeys are the keys of a mapping's JSON object.
var mappingKeys = []string{"fields", "only_mapped", "codes", "time_format", "list_join", "constants", "envelope"}

// UnmarshalJSON reads a mapping, refusing a key that is none of its own:
// a mistyped one ("only_maped") would otherwise be dropped without a word
// and the platform sent what it did not ask for.
func (m *HaochapingMapping) UnmarshalJSON(b []byte) error {
	var keys map[string]json.RawMessage
	if json.Unmarshal(b, &keys) == nil { // not an object: the decode below says so
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if !slices.Contains(mappingKeys, k) {
				return FieldErrorf("mapping."+k, "%q is not a key of the mapping: its keys are %s", k, strings.Join(mappingKeys, ", "))
			}
		}
	}
	type plain HaochapingMapping
	return json.Unmarshal(b, (*plain)(m))
}

// asksPersonal names the personal fields the mapping asks for.
func (m *HaochapingMapping) asksPersonal() []string {
	var out []string
	for name, to := range m.Fields {
		if f, _ := haochapingField(name); f.Personal && to != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

const maxMappingName = 64

func checkMappingName(field, s string) error {
	if utf8.RuneCountInString(s) > maxMappingName || strings.ContainsAny(s, "\r\n\t") {
		return FieldErrorf(field, "%s is one line of at most %d characters", field, maxMappingName)
	}
	return nil
}

// validate checks the mapping; httpsURL says whether personal fields may
// be asked for.
func (m *HaochapingMapping) validate(httpsURL bool) error {
	if m.OnlyMapped {
		named := false
		for _, to := range m.Fields {
			named = named || to != ""
		}
		if !named { // every record would go empty
			return FieldErrorf("mapping.only_mapped", "only_mapped sends only the fields named in mapping.fields: name one at least")
		}
	}
	names := map[string]string{}
	taken := func(field, to string) error {
		if other, ok := names[to]; ok && to != "" {
			return FieldErrorf(field, "%q is already the name of %s", to, other)
		}
		names[to] = field
		return nil
	}
	if !m.OnlyMapped {
		for _, f := range HaochapingFields {
			if _, renamed := m.Fields[f.Name]; !renamed && !f.Personal {
				if err := taken("mapping.fields."+f.Name, f.Name); err != nil {
					return err
				}
			}
		}
	}
	for name, to := range m.Fields {
		field := "mapping.fields." + name
		f, ok := haochapingField(name)
		if !ok {
			return FieldErrorf(field, "%q is not a field of the record", name)
		}
		if err := checkMappingName(field, to); err != nil {
			return err
		}
		if f.Personal && to != "" && !httpsURL {
			return FieldErrorf(field, "%s is personal data: it is sent only over https", name)
		}
		if err := taken(field, to); err != nil {
			return err
		}
	}
	for name, table := range m.Codes {
		field := "mapping.codes." + name
		if _, ok := haochapingField(name); !ok {
			return FieldErrorf(field, "%q is not a field of the record", name)
		}
		for from, to := range table {
			if err := checkMappingName(field, from); err != nil {
				return err
			}
			if err := checkMappingName(field, to); err != nil {
				return err
			}
		}
	}
	switch m.TimeFormat {
	case "", TimeDatetime, TimeRFC3339, TimeUnix, TimeUnixMS:
	default:
		return FieldErrorf("mapping.time_format", "time_format is datetime, rfc3339, unix or unix_ms")
	}
	if err := checkMappingName("mapping.list_join", m.ListJoin); err != nil {
		return err
	}
	for name, v := range m.Constants {
		field := "mapping.constants." + name
		if name == "" {
			return FieldErrorf("mapping.constants", "a constant needs a name")
		}
		if err := checkMappingName(field, name); err != nil {
			return err
		}
		if utf8.RuneCountInString(v) > 500 {
			return FieldErrorf(field, "a constant is at most 500 characters")
		}
		if err := taken(field, name); err != nil {
			return err
		}
	}
	return checkMappingName("mapping.envelope", m.Envelope)
}

// Apply shapes a record for the platform: personal fields only when
// personal is true (the reporter's URL is https) and the mapping names
// them.
func (m *HaochapingMapping) Apply(r HaochapingRecord, loc *time.Location, personal bool) map[string]any {
	out := map[string]any{}
	for _, f := range HaochapingFields {
		v, ok := r[f.Name]
		if !ok {
			continue
		}
		to, named := m.Fields[f.Name]
		switch {
		case f.Personal && (!personal || !named || to == ""):
			continue
		case !named && m.OnlyMapped, named && to == "":
			continue
		case !named:
			to = f.Name
		}
		out[to] = m.value(f.Name, v, loc)
	}
	for k, v := range m.Constants {
		out[k] = v
	}
	if m.Envelope != "" {
		return map[string]any{m.Envelope: out}
	}
	return out
}

func (m *HaochapingMapping) code(field, v string) string {
	if c, ok := m.Codes[field][v]; ok {
		return c
	}
	return v
}

func (m *HaochapingMapping) value(field string, v any, loc *time.Location) any {
	table := m.Codes[field]
	switch v := v.(type) {
	case int:
		if table != nil { // coded: text, whether the table has the value or not
			return m.code(field, strconv.Itoa(v))
		}
		return v
	case bool:
		if table != nil {
			return m.code(field, strconv.FormatBool(v))
		}
		return v
	case string:
		return m.code(field, v)
	case []string:
		l := make([]string, len(v))
		for i, s := range v {
			l[i] = m.code(field, s)
		}
		if m.ListJoin != "" {
			return strings.Join(l, m.ListJoin)
		}
		return l
	case time.Time:
		switch m.TimeFormat {
		case TimeRFC3339:
			return v.In(loc).Format(time.RFC3339)
		case TimeUnix:
			return v.Unix()
		case TimeUnixMS:
			return v.UnixMilli()
		}
		return v.In(loc).Format(RecordTime)
	}
	return v
}

// Auth of a reporter.
const (
	AuthHMAC   = "hmac"   // the hex HMAC-SHA256 of the body under the shared key, in SignatureHeader
	AuthBearer = "bearer" // Authorization: Bearer <token>
)

// DefaultSignatureHeader carries the HMAC unless the reporter names another.
const DefaultSignatureHeader = "X-Signature"

// HaochapingConfig is what a reporter keeps besides its subscriber row;
// the key (or token) is the subscriber's Secret, never shown.
type HaochapingConfig struct {
	Auth            string            `json:"auth"`
	SignatureHeader string            `json:"signature_header,omitempty"`
	Mapping         HaochapingMapping `json:"mapping"`
}

// HaochapingReporterInput creates or changes a reporter. On a change, a
// field left out (URL "", Halls or Description nil, and those below)
// keeps what the reporter had, as WebhookInput's.
type HaochapingReporterInput struct {
	URL         string   `json:"url"`
	Halls       []string `json:"halls"`
	Description *string  `json:"description"`
	// Status, on a change: active or disabled; empty leaves it.
	Status          string             `json:"status"`
	Auth            string             `json:"auth"`
	Key             string             `json:"key"` // the shared key or the token; on a change, empty keeps it
	SignatureHeader string             `json:"signature_header"`
	Mapping         *HaochapingMapping `json:"mapping"`
}

// HaochapingReporter is a reporter as its API shows it: never its key.
type HaochapingReporter struct {
	*Subscriber
	HaochapingConfig
	Delivery *DeliveryState `json:"delivery,omitempty"`
}

// HaochapingTx is what a store keeps for the reporters
// (sqlstore/haochaping.go).
type HaochapingTx interface {
	PutHaochapingConfig(subID int64, c *HaochapingConfig) error
	HaochapingConfig(subID int64) (*HaochapingConfig, error)
	DeleteHaochaping(subID int64) error // its config and acknowledgements
	// AckHaochaping records that a reporter's platform acknowledged a
	// record (kept once, the first time).
	AckHaochaping(a *HaochapingAck) error
	// HaochapingAcks gives the records of a hall's local day a reporter
	// had acknowledged, by record id.
	HaochapingAcks(subID int64, hallID, day string) (map[string]time.Time, error)
	// FollowUpOutcomes gives the moves to rectified, revisited and
	// rejected a hall's cases made in [from, to), oldest first.
	FollowUpOutcomes(hallID string, from, to time.Time) ([]FollowUpEntry, error)
}

// HaochapingAck is a record the platform acknowledged.
type HaochapingAck struct {
	SubscriberID int64
	RecordID     string
	HallID       string
	Day          string // the hall's local day of the record
	EventID      int64
	At           time.Time
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// SenderHeader reports whether name (any case) is a header the sender of
// an outbound request writes itself, once (package outbound): no
// reporter's header may add another.
func SenderHeader(name string) bool {
	for _, h := range [...]string{"Host", "User-Agent", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection"} {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// RefusedSignatureHeader reports whether a reporter's signature_header
// names a header its requests carry already: the sender's own, the
// message's ids (X-Civiq-…) or Authorization.
func RefusedSignatureHeader(name string) bool {
	return SenderHeader(name) || strings.HasPrefix(strings.ToLower(name), "x-civiq-") || strings.EqualFold(name, "Authorization")
}

// checkReporter checks a reporter's input against what it had (nil when
// new) and gives its config.
func (e *Engine) checkReporter(tx Tx, in *HaochapingReporterInput, old *HaochapingConfig, hadKey bool) (*HaochapingConfig, error) {
	wh := WebhookInput{URL: in.URL, Events: []string{EventRated}, Halls: in.Halls, Description: in.Description, Status: in.Status}
	if err := e.checkWebhook(tx, Principal{User: &User{Role: RoleAdmin}}, &wh); err != nil {
		return nil, err
	}
	in.Halls, in.Description = wh.Halls, wh.Description
	c := &HaochapingConfig{Auth: in.Auth, SignatureHeader: strings.TrimSpace(in.SignatureHeader)}
	if old != nil {
		if c.Auth == "" {
			c.Auth = old.Auth
		}
		if c.SignatureHeader == "" {
			c.SignatureHeader = old.SignatureHeader
		}
		c.Mapping = old.Mapping
	}
	if in.Mapping != nil {
		c.Mapping = *in.Mapping
	}
	switch c.Auth {
	case AuthHMAC:
		if c.SignatureHeader == "" {
			c.SignatureHeader = DefaultSignatureHeader
		}
		if !headerName.MatchString(c.SignatureHeader) {
			return nil, FieldErrorf("signature_header", "signature_header is a header name: letters, digits and -")
		}
		if RefusedSignatureHeader(c.SignatureHeader) {
			return nil, FieldErrorf("signature_header", "signature_header %s is a header the request has already", c.SignatureHeader)
		}
	case AuthBearer:
		c.SignatureHeader = ""
	case "":
		return nil, FieldErrorf("auth", "auth is required: hmac or bearer")
	default:
		return nil, FieldErrorf("auth", "auth is hmac or bearer")
	}
	switch key := in.Key; {
	case key == "" && old != nil && c.Auth != old.Auth:
		// Kept, an hmac key would go out as a bearer token, in every
		// request's header, or a token would sign.
		return nil, FieldErrorf("key", "key is required when auth changes: the shared key (hmac) or the token (bearer), a new one")
	case key == "" && !hadKey:
		return nil, FieldErrorf("key", "key is required: the shared key (hmac) or the token (bearer)")
	case key != "" && (len(key) < 16 || len(key) > 512 || strings.ContainsAny(key, " \r\n\t")):
		return nil, FieldErrorf("key", "key is 16 to 512 characters without spaces")
	}
	u, _ := url.Parse(in.URL)
	if err := c.Mapping.validate(u.Scheme == "https"); err != nil {
		return nil, err
	}
	return c, nil
}

func (e *Engine) reporterView(tx Tx, s *Subscriber, withState bool) (*HaochapingReporter, error) {
	c, err := tx.HaochapingConfig(s.ID)
	if err != nil {
		return nil, err
	}
	v := &HaochapingReporter{Subscriber: s, HaochapingConfig: *c}
	if withState {
		v.Delivery, err = e.deliveryState(tx, s)
	}
	return v, err
}

// reporter finds a reporter by id; anything else is not found.
func reporter(tx Tx, id int64) (*Subscriber, error) {
	s, err := tx.Subscriber(id)
	if err != nil || s.Kind != SubscriberHaochaping {
		return nil, Errorf(ENotFound, "unknown 好差评 reporter %d", id)
	}
	return s, nil
}

// haochapingReporter finds a reporter for p, an admin (a
// subscriberLookup).
func haochapingReporter(tx Tx, p Principal, id int64) (*Subscriber, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	return reporter(tx, id)
}

func adminOnly(p Principal) error {
	if p.Role() != RoleAdmin {
		return Errorf(EForbidden, "only admins manage the 好差评 reporters")
	}
	return nil
}

// CreateHaochapingReporter turns reporting on for some halls (or all, with
// none named): from the newest event on (replay reaches back).
func (e *Engine) CreateHaochapingReporter(ctx context.Context, p Principal, in HaochapingReporterInput) (*HaochapingReporter, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	var out *HaochapingReporter
	err := e.update(ctx, func(tx Tx) error {
		c, err := e.checkReporter(tx, &in, nil, false)
		if err != nil {
			return err
		}
		now := e.now()
		s := &Subscriber{Kind: SubscriberHaochaping, URL: in.URL, Events: haochapingEvents, Halls: in.Halls, Description: *in.Description,
			Status: SubscriberActive, Secret: in.Key, CreatedBy: p.Key(), CreatedAt: now, UpdatedAt: now}
		if in.Status == SubscriberDisabled {
			s.Status = SubscriberDisabled
		}
		if s.Cursor, err = tx.LastEventID(); err != nil {
			return err
		}
		if err := tx.InsertSubscriber(s); err != nil {
			return err
		}
		if err := tx.PutHaochapingConfig(s.ID, c); err != nil {
			return err
		}
		out = &HaochapingReporter{Subscriber: s, HaochapingConfig: *c}
		return nil
	})
	return out, err
}

// HaochapingReporters lists the reporters with their delivery state.
func (e *Engine) HaochapingReporters(ctx context.Context, p Principal) ([]*HaochapingReporter, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	out := []*HaochapingReporter{}
	err := e.store.View(ctx, func(tx Tx) error {
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind != SubscriberHaochaping {
				continue
			}
			v, err := e.reporterView(tx, s, true)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// HaochapingReporter gives one reporter with its delivery state.
func (e *Engine) HaochapingReporter(ctx context.Context, p Principal, id int64) (*HaochapingReporter, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	var out *HaochapingReporter
	err := e.store.View(ctx, func(tx Tx) error {
		s, err := reporter(tx, id)
		if err != nil {
			return err
		}
		out, err = e.reporterView(tx, s, true)
		return err
	})
	return out, err
}

// UpdateHaochapingReporter changes a reporter; its cursor stays, and its
// key unless a new one is given. Status active starts it again, or retries
// the record it is held on at once.
func (e *Engine) UpdateHaochapingReporter(ctx context.Context, p Principal, id int64, in HaochapingReporterInput) (*HaochapingReporter, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	var out *HaochapingReporter
	err := e.update(ctx, func(tx Tx) error {
		s, err := reporter(tx, id)
		if err != nil {
			return err
		}
		old, err := tx.HaochapingConfig(id)
		if err != nil {
			return err
		}
		wh := WebhookInput{URL: in.URL, Halls: in.Halls, Description: in.Description}
		wh.keep(s)
		in.URL, in.Halls, in.Description = wh.URL, wh.Halls, wh.Description
		c, err := e.checkReporter(tx, &in, old, s.Secret != "")
		if err != nil {
			return err
		}
		s.URL, s.Halls, s.Description, s.UpdatedAt = in.URL, in.Halls, *in.Description, e.now()
		if in.Key != "" {
			s.Secret = in.Key
		}
		if err := s.setStatus(tx, in.Status); err != nil {
			return err
		}
		if err := tx.UpdateSubscriber(s); err != nil {
			return err
		}
		if err := tx.PutHaochapingConfig(id, c); err != nil {
			return err
		}
		out = &HaochapingReporter{Subscriber: s, HaochapingConfig: *c}
		return nil
	})
	return out, err
}

// DeleteHaochapingReporter turns a reporter off for good.
func (e *Engine) DeleteHaochapingReporter(ctx context.Context, p Principal, id int64) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	err := e.update(ctx, func(tx Tx) error {
		if _, err := reporter(tx, id); err != nil {
			return err
		}
		if err := tx.DeleteHaochaping(id); err != nil {
			return err
		}
		return tx.DeleteSubscriber(id)
	})
	return err
}

// ReplayHaochapingReporter sends again every record from the event
// fromEventID on, with the same message ids.
func (e *Engine) ReplayHaochapingReporter(ctx context.Context, p Principal, id, fromEventID int64) (*HaochapingReporter, error) {
	s, err := e.replay(ctx, p, id, fromEventID, haochapingReporter)
	if err != nil {
		return nil, err
	}
	var out *HaochapingReporter
	err = e.store.View(ctx, func(tx Tx) (err error) { out, err = e.reporterView(tx, s, false); return })
	return out, err
}

// HaochapingReporterDeliveries gives the reporter's last attempts, newest
// first.
func (e *Engine) HaochapingReporterDeliveries(ctx context.Context, p Principal, id int64, limit int) ([]DeliveryAttempt, error) {
	return e.deliveries(ctx, p, id, limit, haochapingReporter)
}

// SkipHaochapingRecord drops the record a reporter is held on: an admin's
// explicit decision, audited. It answers the id of the event skipped.
func (e *Engine) SkipHaochapingRecord(ctx context.Context, p Principal, id int64) (int64, error) {
	return e.skip(ctx, p, id, haochapingReporter)
}

// HaochapingOut is what a reporter's sender posts for a message.
type HaochapingOut struct {
	RecordID        string
	Body            []byte
	Auth            string
	Key             string
	SignatureHeader string
}

// messageRefs is what a message's body says of its event.
type messageRefs struct {
	Type string `json:"type"`
	Data struct {
		Ticket *struct {
			ID string `json:"id"`
		} `json:"ticket"`
		FollowUp *FollowUpRef `json:"followup"`
	} `json:"data"`
}

// HaochapingMessage builds the record a reporter's message stands for,
// shaped by its mapping.
func (e *Engine) HaochapingMessage(ctx context.Context, s *Subscriber, m *Message) (*HaochapingOut, error) {
	var refs messageRefs
	if err := json.Unmarshal(m.Body, &refs); err != nil {
		return nil, err
	}
	ev := &Event{Type: refs.Type, HallID: m.HallID, At: m.At, FollowUp: refs.Data.FollowUp}
	if refs.Data.Ticket != nil {
		ev.Ticket = &Ticket{ID: refs.Data.Ticket.ID}
	}
	id := HaochapingRecordID(ev)
	if id == "" {
		return nil, Errorf(EInvalid, "event %d stands for no 好差评 record", m.EventID)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, err
	}
	personal := u.Scheme == "https"
	out := &HaochapingOut{RecordID: id, Key: s.Secret}
	err = e.store.View(ctx, func(tx Tx) error {
		c, err := tx.HaochapingConfig(s.ID)
		if err != nil {
			return err
		}
		out.Auth, out.SignatureHeader = c.Auth, c.SignatureHeader
		loc, err := e.location(tx, m.HallID)
		if err != nil {
			return err
		}
		rec, err := e.recordOf(tx, ev, len(c.Mapping.asksPersonal()) > 0 && personal)
		if err != nil {
			return err
		}
		out.Body, err = json.Marshal(c.Mapping.Apply(rec, loc, personal))
		return err
	})
	return out, err
}

// recordOf builds the record an event stands for.
func (e *Engine) recordOf(tx Tx, ev *Event, personal bool) (HaochapingRecord, error) {
	if ev.Type == EventRated {
		r, err := tx.RatingByTicket(ev.Ticket.ID)
		if err != nil {
			return nil, err
		}
		return e.haochapingRecord(tx, r, nil, "", personal)
	}
	f, err := tx.FollowUp(ev.FollowUp.ID)
	if err != nil {
		return nil, err
	}
	r, err := tx.RatingByTicket(f.TicketID)
	if err != nil {
		return nil, err
	}
	move := ev.FollowUp.Move
	if move == "" {
		move = ev.FollowUp.Status
	}
	return e.haochapingRecord(tx, r, f, move, personal)
}

// haochapingRecord builds the default record of a rating, or of the
// outcome move of its follow-up f. personal adds the personal fields.
func (e *Engine) haochapingRecord(tx Tx, r *Rating, f *FollowUp, move string, personal bool) (HaochapingRecord, error) {
	rec, loc, settings, applicant, err := e.ticketRecord(tx, r.HallID, r.TicketID, r.ServiceID, r.CounterID, r.StaffID)
	if err != nil {
		return nil, err
	}
	rec["record_type"], rec["record_id"] = RecordRating, RecordRating+":"+r.TicketID
	rec["channel"], rec["channel_name"] = r.Channel, RatingChannelNames[r.Channel]
	rec["level"], rec["level_name"], rec["rated_at"] = r.Score, ScoreNames[r.Score], r.CreatedAt.In(loc)
	rec["reasons"], rec["reason_names"] = r.Reasons, settings.ReasonNames(r.Reasons)
	if r.Reasons == nil {
		rec["reasons"] = []string{}
	}
	rec["reason_text"] = strings.Join(append(slices.Clone(r.ReasonText), r.Comment), "；")
	if r.Comment == "" {
		rec["reason_text"] = strings.Join(r.ReasonText, "；")
	}
	if personal {
		phone := r.ContactPhone
		if err := e.unseal(&phone, &applicant); err != nil {
			return nil, err
		}
		rec["contact_phone"], rec["applicant_name"] = phone, applicant
	}
	if f == nil {
		return rec, nil
	}
	entries, err := tx.FollowUpEntries(f.ID)
	if err != nil {
		return nil, err
	}
	rec["record_type"] = RecordFollowUp
	rec["record_id"] = RecordFollowUp + ":" + strconv.FormatInt(f.ID, 10) + ":" + move
	rec["outcome"] = move
	if f.PublicSummary != "" { // absent (a rejected one has none): left out
		rec["rectification"] = f.PublicSummary
	}
	var at time.Time
	for _, en := range entries {
		switch en.Move {
		case move:
			if at.IsZero() {
				at = en.At.In(loc)
			}
		}
		if en.Move == FollowUpRectified {
			rec["rectified_at"] = en.At.In(loc)
		}
	}
	if at.IsZero() && f.ClosedAt != nil {
		at = f.ClosedAt.In(loc)
	}
	if !at.IsZero() {
		rec["outcome_at"] = at
		rec["overdue"] = Date(at, loc).Format(time.DateOnly) > f.Deadline
	}
	if move == FollowUpRevisited {
		rec["revisit_view"], rec["revisit_view_name"] = f.CitizenView, CitizenViewNames[f.CitizenView]
	}
	if move == FollowUpRejected {
		rec["rejection_reason"] = f.RejectionReason
	}
	return rec, nil
}

// ackHaochaping records the records a reporter's platform acknowledged in
// attempts (RecordDelivery).
func (e *Engine) ackHaochaping(tx Tx, s *Subscriber, attempts []DeliveryAttempt) error {
	for _, a := range attempts {
		if !a.OK() || a.EventID == 0 {
			continue
		}
		evs, err := tx.EventsSince(a.EventID-1, 1)
		if err != nil {
			return err
		}
		if len(evs) == 0 || evs[0].ID != a.EventID {
			continue
		}
		ev := evs[0]
		id := HaochapingRecordID(ev)
		if id == "" {
			continue
		}
		loc, err := e.location(tx, ev.HallID)
		if err != nil {
			return err
		}
		if err := tx.AckHaochaping(&HaochapingAck{SubscriberID: s.ID, RecordID: id, HallID: ev.HallID,
			Day: Date(ev.At, loc).Format(time.DateOnly), EventID: ev.ID, At: a.At}); err != nil {
			return err
		}
	}
	return nil
}

// regionCode is a 行政区划代码: 6 digits (GB/T 2260) or 12 (the statistical
// division code).
var regionCode = regexp.MustCompile(`^([0-9]{6}|[0-9]{12})$`)

// haochapingDay parses a date of the reports: the hall's local day.
func haochapingDay(date string, loc *time.Location) (from, to time.Time, err error) {
	if date == "" {
		return from, to, FieldErrorf("date", "date is required: YYYY-MM-DD")
	}
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return from, to, FieldErrorf("date", "date must be YYYY-MM-DD")
	}
	return d, d.AddDate(0, 0, 1), nil
}

// HaochapingDay gives a hall's records of a local day: the ratings given
// and the follow-up outcomes of that day, ratings first, each oldest
// first, without personal data; and the hall's zone. It is what the day's
// export writes (for provinces that take files) and what the
// reconciliation counts.
func (e *Engine) HaochapingDay(ctx context.Context, hallID, date string) ([]HaochapingRecord, *time.Location, error) {
	var out []HaochapingRecord
	var loc *time.Location
	err := e.store.View(ctx, func(tx Tx) (err error) {
		out, loc, err = e.haochapingDay(tx, hallID, date)
		return err
	})
	return out, loc, err
}

func (e *Engine) haochapingDay(tx Tx, hallID, date string) ([]HaochapingRecord, *time.Location, error) {
	loc, err := e.location(tx, hallID)
	if err != nil {
		return nil, nil, err
	}
	from, to, err := haochapingDay(date, loc)
	if err != nil {
		return nil, nil, err
	}
	out := []HaochapingRecord{}
	ratings, err := tx.Ratings(hallID, from, to)
	if err != nil {
		return nil, nil, err
	}
	for i := range ratings {
		rec, err := e.haochapingRecord(tx, &ratings[i], nil, "", false)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rec)
	}
	moves, err := tx.FollowUpOutcomes(hallID, from, to)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range moves {
		f, err := tx.FollowUp(m.FollowUpID)
		if err != nil {
			return nil, nil, err
		}
		r, err := tx.RatingByTicket(f.TicketID)
		if err != nil {
			return nil, nil, err
		}
		rec, err := e.haochapingRecord(tx, r, f, m.Move, false)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rec)
	}
	return out, loc, nil
}

// HaochapingSync is the daily reconciliation of a hall's 好差评 reports.
type HaochapingSync struct {
	HallID    string `json:"hall_id"`
	Date      string `json:"date"`
	Ratings   int    `json:"ratings"`
	FollowUps int    `json:"followups"` // follow-up outcomes: rectified, revisited, rejected
	// Reporters are the reporters of the hall, each with what its
	// platform acknowledged of the day, and which records are pending or
	// failing. None: the hall reports by file (the day's export).
	Reporters []HaochapingSyncReporter `json:"reporters"`
	// ProvincePage is there when the hall's raters open the province's
	// page: how many of the day's served tickets were rated from its
	// callback, and how many were not rated at all.
	ProvincePage *ProvincePageDay `json:"province_page,omitempty"`
}

// ProvincePageDay is a day of ratings on the province's page.
type ProvincePageDay struct {
	RatedByCallback int `json:"rated_by_callback"`
	NotRated        int `json:"not_rated"`
}

// HaochapingSyncReporter is one reporter's side of the day.
type HaochapingSyncReporter struct {
	ID           int64  `json:"id"`
	URL          string `json:"url"`
	Status       string `json:"status"`
	Acknowledged int    `json:"acknowledged"`
	// Pending: not acknowledged yet, waiting their turn (or older than
	// the reporter, which a replay sends).
	Pending []string            `json:"pending"`
	Failing []HaochapingFailing `json:"failing"`
}

// HaochapingFailing is a record its platform refused or did not answer:
// the one a reporter is held on.
type HaochapingFailing struct {
	RecordID string     `json:"record_id"`
	Error    string     `json:"error"`
	Attempts int        `json:"attempts"`
	NextAt   *time.Time `json:"next_attempt_at,omitempty"`
}

// HaochapingReconcile answers, for a hall's local day, how many ratings
// and follow-up outcomes it had, and for each reporter of the hall how
// many its platform acknowledged, which are pending and which failing.
func (e *Engine) HaochapingReconcile(ctx context.Context, hallID, date string) (*HaochapingSync, error) {
	out := &HaochapingSync{HallID: hallID, Date: date, Reporters: []HaochapingSyncReporter{}}
	err := e.store.View(ctx, func(tx Tx) error {
		recs, _, err := e.haochapingDay(tx, hallID, date)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r["record_type"] == RecordRating {
				out.Ratings++
			} else {
				out.FollowUps++
			}
		}
		if out.ProvincePage, err = e.provincePageDay(tx, hallID, date, recs); err != nil {
			return err
		}
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind != SubscriberHaochaping || (len(s.Halls) > 0 && !slices.Contains(s.Halls, hallID)) {
				continue
			}
			acks, err := tx.HaochapingAcks(s.ID, hallID, date)
			if err != nil {
				return err
			}
			stuck := ""
			if s.Attempts > 0 {
				ev, err := heldEvent(tx, s)
				if err != nil {
					return err
				}
				if ev != nil {
					stuck = HaochapingRecordID(ev)
				}
			}
			sr := HaochapingSyncReporter{ID: s.ID, URL: s.URL, Status: s.Status, Pending: []string{}, Failing: []HaochapingFailing{}}
			for _, r := range recs {
				id, _ := r["record_id"].(string)
				switch _, acked := acks[id]; {
				case acked:
					sr.Acknowledged++
				case id == stuck:
					f := HaochapingFailing{RecordID: id, Error: s.LastError, Attempts: s.Attempts, NextAt: s.nextTry()}
					sr.Failing = append(sr.Failing, f)
				default:
					sr.Pending = append(sr.Pending, id)
				}
			}
			out.Reporters = append(out.Reporters, sr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
