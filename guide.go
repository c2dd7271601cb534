package civiq

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Service guides (办事指南): what a citizen must know before coming, with
// the fields of the national service-item exchange (国家政务服务平台事项
// 要素). Each guide belongs to one hall and points to the hall's service
// whose queue handles it. Guides are searched by any part of their name or
// keywords (sqlstore/guides.go), imported and exported as JSON and CSV.

// Material necessity (必要性).
const (
	NeedRequired    = "required"    // 必要
	NeedOptional    = "optional"    // 非必要
	NeedConditional = "conditional" // 情形必要: needed in the cases its notes name
)

// Material forms (材料形式).
const (
	FormOriginal       = "original"          // 原件
	FormCopy           = "copy"              // 复印件
	FormOriginalCopy   = "original_and_copy" // 原件和复印件
	FormElectronic     = "electronic"        // 电子件
	maxGuideMaterials  = 100
	maxGuideFees       = 20
	maxGuideKeywords   = 30
	maxGuideSteps      = 30
	maxGuideDays       = MaxDeadlineDays
	maxGuideVisits     = 10
	maxGuideCopies     = 99
	maxGuideLongText   = 4000
	maxGuideShortText  = 200
	maxGuideNameRunes  = 100
	maxGuideURL        = 500
	maxGuideQueryRunes = 50
)

// GuideItemTypes are the item types (事项类型) of the national exchange.
var GuideItemTypes = []string{"行政许可", "行政处罚", "行政强制", "行政征收", "行政给付", "行政检查", "行政确认",
	"行政奖励", "行政裁决", "其他行政权力", "公共服务"}

// GuideLevels are the levels that exercise an item (行使层级).
var GuideLevels = []string{"国家级", "省级", "市级", "县级", "镇（乡、街道）级", "村（社区）级"}

// GuideAudiences are who an item serves (服务对象).
var GuideAudiences = []string{"自然人", "企业法人", "事业法人", "社会组织法人", "非法人企业", "行政机关", "其他组织"}

// GuideForms are the ways an item is handled (办理形式).
var GuideForms = []string{"窗口办理", "网上办理", "快递申请"}

// Material is one document a guide asks for.
type Material struct {
	// ID names the material within its guide (m1, m2, ... when not given):
	// cases refer to materials by it.
	ID        string `json:"id"`
	Name      string `json:"name"`                 // 材料名称
	NameEn    string `json:"name_en,omitempty"`    // for the English pages; they show Name without it
	Necessity string `json:"necessity"`            // 必要性: required, optional, conditional
	Form      string `json:"form"`                 // 材料形式: original, copy, original_and_copy, electronic
	Copies    int    `json:"copies"`               // 份数
	Source    string `json:"source,omitempty"`     // 来源渠道 (申请人自备, 政府部门核发...)
	Spec      string `json:"spec,omitempty"`       // 纸质规格 (A4...)
	BlankURL  string `json:"blank_url,omitempty"`  // 空白表格
	SampleURL string `json:"sample_url,omitempty"` // 示例样表
	Notes     string `json:"notes,omitempty"`      // 填报须知
	Standard  string `json:"standard,omitempty"`   // 受理标准
}

// Fee is one charge of a guide (收费项目).
type Fee struct {
	Name      string `json:"name"`                // 收费项目名称
	Standard  string `json:"standard"`            // 收费标准
	Reduction string `json:"reduction,omitempty"` // 减免政策
}

// Guide is one service item of a hall (办事指南).
type Guide struct {
	ID        string `json:"id"`
	HallID    string `json:"hall_id"`
	ServiceID string `json:"service_id"` // the hall's service whose queue handles it
	Position  int    `json:"position"`

	Name          string   `json:"name"`                     // 事项名称
	NameEn        string   `json:"name_en,omitempty"`        // for the English pages
	BasicCode     string   `json:"basic_code,omitempty"`     // 基本编码
	ImplCode      string   `json:"impl_code,omitempty"`      // 实施编码
	ItemType      string   `json:"item_type,omitempty"`      // 事项类型
	Level         string   `json:"level,omitempty"`          // 行使层级
	Authority     string   `json:"authority,omitempty"`      // 实施主体
	AuthorityCode string   `json:"authority_code,omitempty"` // 实施主体编码
	Audience      []string `json:"audience"`                 // 服务对象
	Basis         string   `json:"basis,omitempty"`          // 设定依据
	Conditions    string   `json:"conditions,omitempty"`     // 受理条件
	Process       []string `json:"process"`                  // 办理流程, step by step
	Forms         []string `json:"forms"`                    // 办理形式
	Location      string   `json:"location,omitempty"`       // 办理地点
	Hours         string   `json:"hours,omitempty"`          // 办理时间
	// LegalDays and PromisedDays are 法定办结时限 and 承诺办结时限 in
	// working days; 0 promised days is 即办 (done on the spot).
	LegalDays    int    `json:"legal_days"`
	PromisedDays int    `json:"promised_days"`
	Visits       int    `json:"visits"` // 到办事现场次数
	Fee          bool   `json:"fee"`    // 是否收费
	Fees         []Fee  `json:"fees"`
	Consult      string `json:"consult,omitempty"`    // 咨询方式
	Complaint    string `json:"complaint,omitempty"`  // 监督投诉方式
	Online       bool   `json:"online"`               // 是否网办
	OnlineURL    string `json:"online_url,omitempty"` // 网办地址
	Appointment  bool   `json:"appointment"`          // 是否预约办理
	Delivery     bool   `json:"delivery"`             // 是否支持物流快递
	ResultType   string `json:"result_type,omitempty"`
	ResultName   string `json:"result_name,omitempty"`
	// Keywords are the other words citizens use for it (房产证, 社保卡...):
	// search finds them as it finds the name.
	Keywords  []string   `json:"keywords"`
	Materials []Material `json:"materials"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// GuideTx is what a store keeps of service guides (sqlstore/guides.go).
type GuideTx interface {
	// Guides lists a hall's guides: those matching q.Text best first (any
	// part of the name or a keyword; less weight for codes, authority and
	// material names), else in the hall's order; q.Limit < 0 means all.
	Guides(q GuideQuery) ([]Guide, error)
	// GuideIDs gives the ids of the guides Guides(q) lists, in its order,
	// without reading the guides.
	GuideIDs(q GuideQuery) ([]string, error)
	Guide(id string) (*Guide, error)
	PutGuide(g *Guide) error // creates or replaces, by id
	DeleteGuide(id string) error
}

// GuideSummary is a guide in a list: enough to choose it.
type GuideSummary struct {
	ID           string   `json:"id"`
	HallID       string   `json:"hall_id"`
	ServiceID    string   `json:"service_id"`
	Name         string   `json:"name"`
	NameEn       string   `json:"name_en,omitempty"`
	ItemType     string   `json:"item_type,omitempty"`
	LegalDays    int      `json:"legal_days"`
	PromisedDays int      `json:"promised_days"`
	Visits       int      `json:"visits"`
	Fee          bool     `json:"fee"`
	Online       bool     `json:"online"`
	Appointment  bool     `json:"appointment"`
	Keywords     []string `json:"keywords"`
	Materials    int      `json:"materials"` // how many
}

// Names is the guide's name in a page's language and in the other one
// (inLang, hall.go).
func (g *Guide) Names(lang string) (name, other string) { return inLang(lang, g.Name, g.NameEn) }

// NameIn is the material's name in lang: English on English pages when
// it has one, else Chinese.
func (m *Material) NameIn(lang string) string { name, _ := inLang(lang, m.Name, m.NameEn); return name }

// Summary returns the guide as a list shows it.
func (g *Guide) Summary() GuideSummary {
	return GuideSummary{ID: g.ID, HallID: g.HallID, ServiceID: g.ServiceID, Name: g.Name, NameEn: g.NameEn, ItemType: g.ItemType,
		LegalDays: g.LegalDays, PromisedDays: g.PromisedDays, Visits: g.Visits, Fee: g.Fee, Online: g.Online,
		Appointment: g.Appointment, Keywords: nonNil(g.Keywords), Materials: len(g.Materials)}
}

// Material returns the guide's material with the id, or nil.
func (g *Guide) Material(id string) *Material {
	for i := range g.Materials {
		if g.Materials[i].ID == id {
			return &g.Materials[i]
		}
	}
	return nil
}

// SearchText is what search reads besides the name and keywords, with
// less weight: the codes, the authority and the materials' names.
func (g *Guide) SearchText() string {
	parts := []string{g.BasicCode, g.ImplCode, g.Authority, g.ItemType}
	for _, m := range g.Materials {
		parts = append(parts, m.Name)
	}
	return strings.Join(nonEmpty(parts), " ")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonEmpty(s []string) []string {
	out := s[:0:0]
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// GuideQuery asks for a hall's guides: those of a service, those matching
// a text (best first), or all in the hall's order.
type GuideQuery struct {
	HallID    string
	ServiceID string
	Text      string
	Limit     int // 1..200; 0 means 50
	Offset    int
}

// GuideFieldError is one fault of a guide: the field, and the material it
// is in (-1 for the guide itself).
type GuideFieldError struct {
	Material int
	Field    string
	Message  string
}

// Path names the field as JSON does: "promised_days", "materials[2].name".
func (e GuideFieldError) Path() string {
	if e.Material < 0 {
		return e.Field
	}
	return fmt.Sprintf("materials[%d].%s", e.Material, e.Field)
}

var (
	guideCodePattern = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)
	materialIDRegexp = regexp.MustCompile(`^[0-9A-Za-z_-]{1,20}$`)
)

// Normalize trims the guide's text, drops empty list entries and fills the
// defaults: material ids m1, m2..., necessity required, form original, one
// copy.
func (g *Guide) Normalize() {
	for _, p := range []*string{&g.ID, &g.ServiceID, &g.Name, &g.NameEn, &g.BasicCode, &g.ImplCode, &g.ItemType, &g.Level,
		&g.Authority, &g.AuthorityCode, &g.Basis, &g.Conditions, &g.Location, &g.Hours, &g.Consult, &g.Complaint,
		&g.OnlineURL, &g.ResultType, &g.ResultName} {
		*p = strings.TrimSpace(*p)
	}
	g.Audience = cleanList(g.Audience)
	g.Process = cleanList(g.Process)
	g.Forms = cleanList(g.Forms)
	g.Keywords = dedupe(cleanList(g.Keywords))
	g.Fees = nonNil(g.Fees)
	for i := range g.Fees {
		f := &g.Fees[i]
		f.Name, f.Standard, f.Reduction = strings.TrimSpace(f.Name), strings.TrimSpace(f.Standard), strings.TrimSpace(f.Reduction)
	}
	g.Materials = nonNil(g.Materials)
	for i := range g.Materials {
		m := &g.Materials[i]
		for _, p := range []*string{&m.ID, &m.Name, &m.NameEn, &m.Necessity, &m.Form, &m.Source, &m.Spec, &m.BlankURL, &m.SampleURL, &m.Notes, &m.Standard} {
			*p = strings.TrimSpace(*p)
		}
		if m.ID == "" {
			m.ID = "m" + strconv.Itoa(i+1)
		}
		if m.Necessity == "" {
			m.Necessity = NeedRequired
		}
		if m.Form == "" {
			m.Form = FormOriginal
		}
		if m.Copies == 0 {
			m.Copies = 1
		}
	}
}

func cleanList(s []string) []string {
	out := []string{}
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Check returns every fault of a normalized guide (empty when it is
// good). It does not know the hall: whether the service exists is checked
// where the guide is saved.
func (g *Guide) Check() []GuideFieldError {
	var errs []GuideFieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, GuideFieldError{Material: -1, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if g.ID != "" && !ValidID(g.ID) {
		bad("id", "id must be 1-40 lower-case letters, digits, '-' or '_'")
	}
	if g.ServiceID == "" {
		bad("service_id", "service_id is required: the hall's service whose queue handles this item")
	} else if !ValidID(g.ServiceID) {
		bad("service_id", "service_id must be the id of one of the hall's services")
	}
	switch n := utf8.RuneCountInString(g.Name); {
	case n == 0:
		bad("name", "name (事项名称) is required")
	case n > maxGuideNameRunes:
		bad("name", "name is at most %d characters", maxGuideNameRunes)
	}
	if utf8.RuneCountInString(g.NameEn) > maxGuideShortText {
		bad("name_en", "name_en is at most %d characters", maxGuideShortText)
	}
	for _, c := range []struct{ field, v string }{{"basic_code", g.BasicCode}, {"impl_code", g.ImplCode}, {"authority_code", g.AuthorityCode}} {
		if c.v != "" && !guideCodePattern.MatchString(c.v) {
			bad(c.field, "%s must be 1-64 letters, digits, '.', '-' or '_'", c.field)
		}
	}
	if g.ItemType != "" && !contains(GuideItemTypes, g.ItemType) {
		bad("item_type", "item_type must be one of %s", strings.Join(GuideItemTypes, "、"))
	}
	if g.Level != "" && !contains(GuideLevels, g.Level) {
		bad("level", "level must be one of %s", strings.Join(GuideLevels, "、"))
	}
	for _, a := range g.Audience {
		if !contains(GuideAudiences, a) {
			bad("audience", "audience %q is not one of %s", a, strings.Join(GuideAudiences, "、"))
			break
		}
	}
	for _, f := range g.Forms {
		if !contains(GuideForms, f) {
			bad("forms", "form %q is not one of %s", f, strings.Join(GuideForms, "、"))
			break
		}
	}
	for _, t := range []struct {
		field, v string
		max      int
	}{
		{"authority", g.Authority, maxGuideShortText}, {"basis", g.Basis, maxGuideLongText}, {"conditions", g.Conditions, maxGuideLongText},
		{"location", g.Location, maxGuideShortText * 2}, {"hours", g.Hours, maxGuideShortText * 2}, {"consult", g.Consult, maxGuideShortText * 2},
		{"complaint", g.Complaint, maxGuideShortText * 2}, {"result_type", g.ResultType, maxGuideShortText}, {"result_name", g.ResultName, maxGuideShortText},
	} {
		if utf8.RuneCountInString(t.v) > t.max {
			bad(t.field, "%s is at most %d characters", t.field, t.max)
		}
	}
	if len(g.Process) > maxGuideSteps {
		bad("process", "process has at most %d steps", maxGuideSteps)
	}
	for _, s := range g.Process {
		if utf8.RuneCountInString(s) > maxGuideShortText*2 {
			bad("process", "each step of process is at most %d characters", maxGuideShortText*2)
			break
		}
	}
	if g.LegalDays < 0 || g.LegalDays > maxGuideDays {
		bad("legal_days", "legal_days (法定办结时限) must be 0..%d working days", maxGuideDays)
	}
	if g.PromisedDays < 0 || g.PromisedDays > maxGuideDays {
		bad("promised_days", "promised_days (承诺办结时限) must be 0..%d working days", maxGuideDays)
	} else if g.LegalDays > 0 && g.PromisedDays > g.LegalDays {
		bad("promised_days", "promised_days (%d) may not exceed legal_days (%d)", g.PromisedDays, g.LegalDays)
	}
	if g.Visits < 0 || g.Visits > maxGuideVisits {
		bad("visits", "visits (到办事现场次数) must be 0..%d", maxGuideVisits)
	}
	if g.Fee && len(g.Fees) == 0 {
		bad("fees", "a guide that charges (fee) lists at least one fee item")
	}
	if !g.Fee && len(g.Fees) > 0 {
		bad("fee", "fee must be true when fee items are listed")
	}
	if len(g.Fees) > maxGuideFees {
		bad("fees", "at most %d fee items", maxGuideFees)
	}
	for _, f := range g.Fees {
		if f.Name == "" || f.Standard == "" {
			bad("fees", "each fee item needs a name and a standard")
			break
		}
		if utf8.RuneCountInString(f.Name+f.Standard+f.Reduction) > maxGuideShortText*2 {
			bad("fees", "a fee item is at most %d characters", maxGuideShortText*2)
			break
		}
	}
	if msg := checkURL(g.OnlineURL); msg != "" {
		bad("online_url", "online_url %s", msg)
	}
	if len(g.Keywords) > maxGuideKeywords {
		bad("keywords", "at most %d keywords", maxGuideKeywords)
	}
	for _, k := range g.Keywords {
		if utf8.RuneCountInString(k) > 30 {
			bad("keywords", "each keyword is at most 30 characters")
			break
		}
	}
	if len(g.Materials) > maxGuideMaterials {
		bad("materials", "at most %d materials", maxGuideMaterials)
	}
	ids := map[string]bool{}
	for i, m := range g.Materials {
		mbad := func(field, format string, args ...any) {
			errs = append(errs, GuideFieldError{Material: i, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		if !materialIDRegexp.MatchString(m.ID) {
			mbad("id", "a material id is 1-20 letters, digits, '-' or '_'")
		} else if ids[m.ID] {
			mbad("id", "material id %s is used twice", m.ID)
		}
		ids[m.ID] = true
		switch n := utf8.RuneCountInString(m.Name); {
		case n == 0:
			mbad("name", "a material needs a name (材料名称)")
		case n > maxGuideShortText:
			mbad("name", "a material name is at most %d characters", maxGuideShortText)
		}
		if utf8.RuneCountInString(m.NameEn) > maxGuideShortText {
			mbad("name_en", "a material's English name is at most %d characters", maxGuideShortText)
		}
		if m.Necessity != NeedRequired && m.Necessity != NeedOptional && m.Necessity != NeedConditional {
			mbad("necessity", "necessity must be required (必要), optional (非必要) or conditional (情形必要)")
		}
		if m.Form != FormOriginal && m.Form != FormCopy && m.Form != FormOriginalCopy && m.Form != FormElectronic {
			mbad("form", "form must be original (原件), copy (复印件), original_and_copy (原件和复印件) or electronic (电子件)")
		}
		if m.Copies < 1 || m.Copies > maxGuideCopies {
			mbad("copies", "copies must be 1..%d", maxGuideCopies)
		}
		for _, u := range []struct{ field, v string }{{"blank_url", m.BlankURL}, {"sample_url", m.SampleURL}} {
			if msg := checkURL(u.v); msg != "" {
				mbad(u.field, "%s %s", u.field, msg)
			}
		}
		for _, t := range []struct{ field, v string }{{"source", m.Source}, {"spec", m.Spec}, {"notes", m.Notes}, {"standard", m.Standard}} {
			if utf8.RuneCountInString(t.v) > maxGuideLongText/4 {
				mbad(t.field, "%s is at most %d characters", t.field, maxGuideLongText/4)
			}
		}
	}
	return errs
}

// checkURL accepts "", an http(s) address or a path on this site.
func checkURL(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > maxGuideURL {
		return fmt.Sprintf("is at most %d characters", maxGuideURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "is not an address"
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return ""
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return ""
	}
	return "must be an http(s) address or a path starting with /"
}

// Validate checks a guide for saving alone: the first fault as an
// EInvalid error naming the field.
func (g *Guide) Validate() error {
	g.Normalize()
	if errs := g.Check(); len(errs) > 0 {
		return FieldErrorf(errs[0].Path(), "%s", errs[0].Message)
	}
	return nil
}

// ---- Import ----

// A file read for import (package guidefile reads JSON and CSV) holds at
// most MaxImportGuides guides; an import reports at most MaxImportErrors
// faults.
const (
	MaxImportGuides = 10000
	MaxImportErrors = 1000
)

// ImportError is one fault of an import file: the line it is on (1 is the
// first line; 0 for the file as a whole) and the field.
type ImportError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ImportErrors is every fault of an import file; nothing of the file is
// imported while there is one.
type ImportErrors []ImportError

func (e ImportErrors) Error() string {
	if len(e) == 0 {
		return "no import errors"
	}
	return fmt.Sprintf("%d import errors, the first at line %d: %s", len(e), e[0].Line, e[0].Message)
}

// GuideRow is a guide read from an import file, with the lines it came
// from: the guide's own and each material's.
type GuideRow struct {
	Line          int
	MaterialLines []int
	// Flat rows (a CSV file's) name their faults by the file's columns
	// (material_name) on each material's own line.
	Flat bool
	// Broken rows could not be read at all: their fault is reported, and
	// nothing else of them.
	Broken bool
	Guide  Guide
}

// errorFor places a guide fault on the row's line with the file's field
// name.
func (r *GuideRow) errorFor(e GuideFieldError) ImportError {
	if !r.Flat {
		return ImportError{Line: r.Line, Field: e.Path(), Message: e.Message}
	}
	if e.Material >= 0 && e.Material < len(r.MaterialLines) {
		return ImportError{Line: r.MaterialLines[e.Material], Field: "material_" + e.Field, Message: e.Message}
	}
	return ImportError{Line: r.Line, Field: e.Field, Message: e.Message}
}

// CheckGuideRows normalizes and checks every guide read from a file:
// their own fields, that each names one of services, and that no id or
// 实施编码 comes twice. It returns every fault, in line order.
func CheckGuideRows(rows []GuideRow, services map[string]bool) ImportErrors {
	var errs ImportErrors
	ids, codes := map[string]int{}, map[string]int{}
	for i := range rows {
		r := &rows[i]
		if r.Broken {
			continue
		}
		r.Guide.Normalize()
		for _, e := range r.Guide.Check() {
			errs = append(errs, r.errorFor(e))
		}
		g := &r.Guide
		if g.ServiceID != "" && ValidID(g.ServiceID) && !services[g.ServiceID] {
			errs = append(errs, r.errorFor(GuideFieldError{Material: -1, Field: "service_id",
				Message: fmt.Sprintf("the hall has no service %q", g.ServiceID)}))
		}
		if g.ID != "" {
			if first, ok := ids[g.ID]; ok {
				errs = append(errs, r.errorFor(GuideFieldError{Material: -1, Field: "id", Message: fmt.Sprintf("id %s is also on line %d", g.ID, first)}))
			} else {
				ids[g.ID] = r.Line
			}
		}
		if g.ImplCode != "" {
			if first, ok := codes[g.ImplCode]; ok {
				errs = append(errs, r.errorFor(GuideFieldError{Material: -1, Field: "impl_code", Message: fmt.Sprintf("impl_code %s is also on line %d", g.ImplCode, first)}))
			} else {
				codes[g.ImplCode] = r.Line
			}
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}

// JSONKindName names, for people, the JSON kind a Go kind decodes from:
// "number", "array", "object", "boolean" or "string".
func JSONKindName(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number"
	case goKind == "slice" || goKind == "array":
		return "array"
	case goKind == "map" || goKind == "struct":
		return "object"
	case goKind == "bool":
		return "boolean"
	}
	return "string"
}

// ---- The engine's use cases ----

// ImportResult tells what an import did.
type ImportResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// GuideImport is a catalogue file read for import (guidefile.Read): its
// guides, the faults found while reading it, and whether it replaces the
// hall's catalogue.
type GuideImport struct {
	Rows   []GuideRow
	Faults ImportErrors
	// Replace also removes the hall's guides the file does not hold.
	Replace bool
}

// ImportGuides puts a catalogue file into a hall. Nothing is imported
// unless every guide of the file is right: the answer is then ImportErrors
// with every fault. Guides are matched to the hall's by id, or by 实施编码
// when they have no id.
func (e *Engine) ImportGuides(ctx context.Context, hallID string, in GuideImport) (*ImportResult, error) {
	if err := e.Refuse(ctx, WorkGuides, hallID); err != nil { // edge.go: the city owns it
		return nil, err
	}
	rows, errs := in.Rows, in.Faults
	if len(errs) > 0 && rows == nil {
		return nil, errs
	}
	if len(rows) == 0 && len(errs) == 0 {
		return nil, ImportErrors{{Line: 1, Message: "the file holds no guide"}}
	}
	if len(rows) > MaxImportGuides {
		return nil, ImportErrors{{Line: rows[MaxImportGuides].Line, Message: fmt.Sprintf("a file holds at most %d guides", MaxImportGuides)}}
	}
	res := &ImportResult{}
	err := e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		svcs, err := tx.Services(hallID)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, s := range svcs {
			known[s.ID] = true
		}
		all := append(errs, CheckGuideRows(rows, known)...)
		existing, err := tx.Guides(GuideQuery{HallID: hallID, Limit: -1})
		if err != nil {
			return err
		}
		byID, byCode := map[string]*Guide{}, map[string]*Guide{}
		for i := range existing {
			byID[existing[i].ID] = &existing[i]
			if existing[i].ImplCode != "" {
				byCode[existing[i].ImplCode] = &existing[i]
			}
		}
		for i := range rows {
			g := &rows[i].Guide
			if g.ID == "" {
				continue
			}
			if _, ours := byID[g.ID]; ours {
				continue
			}
			other, err := tx.Guide(g.ID)
			if err == nil && other.HallID != hallID {
				all = append(all, rows[i].errorFor(GuideFieldError{Material: -1, Field: "id", Message: fmt.Sprintf("id %s belongs to a guide of another hall", g.ID)}))
			} else if err != nil && !IsNotFound(err) {
				return err
			}
		}
		if len(all) > 0 {
			sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
			if len(all) > MaxImportErrors {
				all = all[:MaxImportErrors]
			}
			return all
		}
		now := e.now()
		kept := map[string]bool{}
		for i := range rows {
			g := rows[i].Guide
			g.HallID, g.Position, g.UpdatedAt = hallID, i, now
			if g.ID == "" {
				if old, ok := byCode[g.ImplCode]; ok && g.ImplCode != "" && !kept[old.ID] {
					g.ID = old.ID
				} else {
					g.ID = newGuideID()
				}
			}
			if _, ok := byID[g.ID]; ok {
				res.Updated++
			} else {
				res.Created++
			}
			kept[g.ID] = true
			if err := tx.PutGuide(&g); err != nil {
				return err
			}
		}
		if in.Replace {
			for _, old := range existing {
				if !kept[old.ID] {
					if err := tx.DeleteGuide(old.ID); err != nil {
						return err
					}
					res.Deleted++
				}
			}
		}
		return e.configChanged(tx, WorkGuides, hallID)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func newGuideID() string { return "g-" + randomToken(8)[:12] }

// SaveGuide creates or replaces one guide of a hall.
func (e *Engine) SaveGuide(ctx context.Context, g *Guide) error {
	if err := e.Refuse(ctx, WorkGuides, g.HallID); err != nil { // edge.go: the city owns it
		return err
	}
	if err := g.Validate(); err != nil {
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(g.HallID); err != nil {
			return err
		}
		if _, err := tx.Service(g.HallID, g.ServiceID); err != nil {
			if IsNotFound(err) {
				return FieldErrorf("service_id", "the hall has no service %q", g.ServiceID)
			}
			return err
		}
		if g.ID == "" {
			g.ID = newGuideID()
		} else if old, err := tx.Guide(g.ID); err == nil && old.HallID != g.HallID {
			return &Error{Code: EConflict, Field: "id", Message: "guide " + g.ID + " belongs to another hall"}
		} else if err != nil && !IsNotFound(err) {
			return err
		}
		g.UpdatedAt = e.now()
		if err := tx.PutGuide(g); err != nil {
			return err
		}
		return e.configChanged(tx, WorkGuides, g.HallID)
	})
}

// DeleteGuide removes a guide of a hall; cases opened on it keep its name.
func (e *Engine) DeleteGuide(ctx context.Context, hallID, id string) error {
	if err := e.Refuse(ctx, WorkGuides, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		g, err := tx.Guide(id)
		if err != nil {
			return err
		}
		if g.HallID != hallID {
			return Errorf(ENotFound, "unknown guide %s", id)
		}
		if err := tx.DeleteGuide(id); err != nil {
			return err
		}
		return e.configChanged(tx, WorkGuides, hallID)
	})
}

// Guide returns one guide.
func (e *Engine) Guide(ctx context.Context, id string) (*Guide, error) {
	var g *Guide
	err := e.store.View(ctx, func(tx Tx) (err error) { g, err = tx.Guide(id); return })
	return g, err
}

// NormalizeGuideQuery cleans a search text: spaces collapsed, at most 50
// characters. It reports an error for a limit or offset out of range.
func NormalizeGuideQuery(q *GuideQuery) error {
	q.Text = strings.Join(strings.FieldsFunc(q.Text, func(r rune) bool { return unicode.IsSpace(r) || r == '\u3000' }), " ")
	if utf8.RuneCountInString(q.Text) > maxGuideQueryRunes {
		q.Text = string([]rune(q.Text)[:maxGuideQueryRunes])
	}
	switch {
	case q.Limit == 0:
		q.Limit = 50
	case q.Limit < 1 || q.Limit > 200:
		return FieldErrorf("limit", "limit must be 1..200")
	}
	if q.Offset < 0 || q.Offset > 100000 {
		return FieldErrorf("offset", "offset must be 0..100000")
	}
	return nil
}

// Guides lists a hall's guides: matching q.Text best first, or in the
// hall's order. more tells whether further guides follow the page.
func (e *Engine) Guides(ctx context.Context, q GuideQuery) (guides []Guide, more bool, err error) {
	if err := NormalizeGuideQuery(&q); err != nil {
		return nil, false, err
	}
	q.Limit++ // one more, to tell whether there are more
	latin := strings.IndexFunc(q.Text, func(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }) >= 0
	err = e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(q.HallID); err != nil {
			return err
		}
		if !latin {
			var err error
			guides, err = tx.Guides(q)
			return err
		}
		// Latin letters: the store's index knows the Chinese names and the
		// keywords; the English names are matched here, over the hall's
		// guides, and come first. The guides are read once: the index
		// gives only the ids of its matches.
		all, err := tx.Guides(GuideQuery{HallID: q.HallID, ServiceID: q.ServiceID, Limit: -1})
		if err != nil {
			return err
		}
		found, err := tx.GuideIDs(GuideQuery{HallID: q.HallID, ServiceID: q.ServiceID, Text: q.Text, Limit: -1})
		if err != nil {
			return err
		}
		merged := MatchEnglish(all, q.Text)
		seen := map[string]bool{}
		for _, g := range merged {
			seen[g.ID] = true
		}
		byID := make(map[string]*Guide, len(all))
		for i := range all {
			byID[all[i].ID] = &all[i]
		}
		for _, id := range found {
			if g := byID[id]; g != nil && !seen[id] {
				merged = append(merged, *g)
			}
		}
		guides = merged[min(q.Offset, len(merged)):min(q.Offset+q.Limit, len(merged))]
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if len(guides) == q.Limit {
		return guides[:q.Limit-1], true, nil
	}
	return guides, false, nil
}

// MatchEnglish gives the guides whose English name and keywords have a
// word starting with each word of text (letters' case aside: "mort" finds
// Mortgage), best first: the first word matching earlier in the English
// name, then shorter names.
func MatchEnglish(guides []Guide, text string) []Guide {
	words := strings.Fields(strings.ToLower(text))
	if len(words) == 0 {
		return nil
	}
	type hit struct {
		g   Guide
		pos int
	}
	var hits []hit
	for _, g := range guides {
		if g.NameEn == "" {
			continue
		}
		name := strings.ToLower(g.NameEn)
		hay := strings.FieldsFunc(name+" "+strings.ToLower(strings.Join(g.Keywords, " ")), notWordRune)
		ok := true
		for _, w := range words {
			if !slices.ContainsFunc(hay, func(h string) bool { return strings.HasPrefix(h, w) }) {
				ok = false
				break
			}
		}
		if ok {
			pos := len(name) + 1 // only in the keywords
			for i, h := range strings.FieldsFunc(name, notWordRune) {
				if strings.HasPrefix(h, words[0]) {
					pos = i
					break
				}
			}
			hits = append(hits, hit{g, pos})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].pos != hits[j].pos {
			return hits[i].pos < hits[j].pos
		}
		return len(hits[i].g.NameEn) < len(hits[j].g.NameEn)
	})
	out := make([]Guide, len(hits))
	for i, h := range hits {
		out[i] = h.g
	}
	return out
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// ExportGuides returns every guide of a hall in its order.
func (e *Engine) ExportGuides(ctx context.Context, hallID string) ([]Guide, error) {
	var out []Guide
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		var err error
		out, err = tx.Guides(GuideQuery{HallID: hallID, Limit: -1})
		return err
	})
	return nonNil(out), err
}

//go:embed guides/demo.json
var demoGuidesJSON []byte

// DemoGuides is the demo hall's catalogue as shipped.
func DemoGuides() ([]Guide, error) {
	var file struct {
		Guides []Guide `json:"guides"`
	}
	d := json.NewDecoder(bytes.NewReader(demoGuidesJSON))
	d.DisallowUnknownFields()
	if err := d.Decode(&file); err != nil {
		return nil, err
	}
	rows := make([]GuideRow, len(file.Guides))
	for i, g := range file.Guides {
		rows[i] = GuideRow{Line: i + 1, Guide: g}
	}
	_, svcs, _ := DemoHall()
	known := map[string]bool{}
	for _, s := range svcs {
		known[s.ID] = true
	}
	if errs := CheckGuideRows(rows, known); len(errs) > 0 {
		return nil, errs
	}
	out := make([]Guide, len(rows))
	for i := range rows {
		out[i] = rows[i].Guide
		out[i].HallID, out[i].Position = "demo", i
	}
	return out, nil
}

// LoadDemoGuides puts the demo catalogue into the demo hall when the hall
// exists and has no guide yet; it reports whether it did.
func (e *Engine) LoadDemoGuides(ctx context.Context) (bool, error) {
	gs, err := DemoGuides()
	if err != nil {
		return false, fmt.Errorf("demo guides: %w", err)
	}
	loaded := false
	err = e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall("demo"); err != nil {
			if IsNotFound(err) {
				return nil
			}
			return err
		}
		have, err := tx.Guides(GuideQuery{HallID: "demo", Limit: 1})
		if err != nil || len(have) > 0 {
			return err
		}
		now := e.now()
		for i := range gs {
			gs[i].UpdatedAt = now
			if err := tx.PutGuide(&gs[i]); err != nil {
				return err
			}
		}
		loaded = true
		return nil
	})
	return loaded, err
}
