// Package guidefile reads and writes a hall's catalogue of service guides
// (办事指南) as files: JSON, and CSV for spreadsheets (the columns of
// guideColumns and materialColumns, a material a row). Reading gives the
// guides with the lines they came from and the faults of the file's
// shape; the rules of a guide and the import itself are the domain's
// (civiq.CheckGuideRows, Engine.ImportGuides).
package guidefile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
)

// Formats of a file.
const (
	JSON = "json"
	CSV  = "csv"
)

// Read reads a file in the format. Faults of the file's shape come back
// as civiq.ImportErrors; faults of each guide are left to
// civiq.CheckGuideRows. No rows and some errors: the file could not be
// read at all.
func Read(format string, data []byte) ([]civiq.GuideRow, civiq.ImportErrors) {
	data = csvfile.TrimBOM(data)
	if !utf8.Valid(data) {
		return nil, civiq.ImportErrors{{Line: lineAt(data, firstInvalidUTF8(data)), Message: "the file is not UTF-8: save it as UTF-8 (CSV UTF-8 in a spreadsheet)"}}
	}
	switch format {
	case JSON:
		return ReadJSON(data)
	case CSV:
		return ReadCSV(data)
	}
	return nil, civiq.ImportErrors{{Field: "format", Message: "format must be json or csv"}}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// lineAt is the line (from 1) of the byte at offset.
func lineAt(data []byte, offset int) int {
	offset = min(max(offset, 0), len(data))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// ReadJSON reads {"guides":[...]} or a bare array of guides. Each
// guide's line is the line its object starts on.
func ReadJSON(data []byte) ([]civiq.GuideRow, civiq.ImportErrors) {
	dec := json.NewDecoder(bytes.NewReader(data))
	syntax := func(err error) civiq.ImportErrors {
		off := int(dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			msg = "the file ends too soon"
		}
		return civiq.ImportErrors{{Line: lineAt(data, off), Message: "malformed JSON: " + msg}}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		found := false
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, syntax(err)
			}
			if k == "guides" {
				found = true
				t, err := dec.Token()
				if err != nil {
					return nil, syntax(err)
				}
				if t != json.Delim('[') {
					return nil, civiq.ImportErrors{{Line: lineAt(data, int(dec.InputOffset())), Field: "guides", Message: "guides must be an array"}}
				}
				break
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, syntax(err)
			}
		}
		if !found {
			return nil, civiq.ImportErrors{{Line: 1, Field: "guides", Message: `the file must be an array of guides or {"guides":[...]}`}}
		}
	default:
		return nil, civiq.ImportErrors{{Line: 1, Message: `the file must be an array of guides or {"guides":[...]}`}}
	}
	var rows []civiq.GuideRow
	var errs civiq.ImportErrors
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntax(err)
		}
		start := int(dec.InputOffset()) - len(raw)
		line := lineAt(data, start)
		if len(rows) >= civiq.MaxImportGuides {
			return nil, civiq.ImportErrors{{Line: line, Message: fmt.Sprintf("a file holds at most %d guides", civiq.MaxImportGuides)}}
		}
		if len(raw) == 0 || raw[0] != '{' {
			errs = append(errs, civiq.ImportError{Line: line, Message: "each guide must be a JSON object"})
			rows = append(rows, civiq.GuideRow{Line: line, Broken: true})
			continue
		}
		var g civiq.Guide
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&g); err != nil {
			errs = append(errs, jsonFieldError(line, err))
		}
		rows = append(rows, civiq.GuideRow{Line: line, Guide: g})
		if len(errs) >= civiq.MaxImportErrors {
			return nil, errs
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, syntax(err)
	}
	return rows, errs
}

// jsonFieldError turns a decoding error of one guide into an import error
// naming the field.
func jsonFieldError(line int, err error) civiq.ImportError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "guide"
		}
		return civiq.ImportError{Line: line, Field: field, Message: fmt.Sprintf("%s must be a JSON %s", field, civiq.JSONKindName(te.Type.Kind().String()))}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		f = strings.Trim(f, `"`)
		return civiq.ImportError{Line: line, Field: f, Message: "unknown field " + f}
	}
	return civiq.ImportError{Line: line, Message: "malformed guide: " + msg}
}

// guideColumn is one column of the CSV format: its key, its Chinese
// header, and how a guide's value is written and read.
type guideColumn struct {
	Key, Label string
	get        func(g *civiq.Guide) string
	set        func(g *civiq.Guide, v string) error
}

type materialColumn struct {
	Key, Label string
	get        func(m *civiq.Material) string
	set        func(m *civiq.Material, v string) error
}

func setText(p func(g *civiq.Guide) *string) func(*civiq.Guide, string) error {
	return func(g *civiq.Guide, v string) error { *p(g) = v; return nil }
}

func setList(p func(g *civiq.Guide) *[]string) func(*civiq.Guide, string) error {
	return func(g *civiq.Guide, v string) error { *p(g) = splitList(v); return nil }
}

func setInt(p func(g *civiq.Guide) *int) func(*civiq.Guide, string) error {
	return func(g *civiq.Guide, v string) error {
		n, err := parseCSVInt(v)
		*p(g) = n
		return err
	}
}

func setBool(p func(g *civiq.Guide) *bool) func(*civiq.Guide, string) error {
	return func(g *civiq.Guide, v string) error {
		b, err := parseCSVBool(v)
		*p(g) = b
		return err
	}
}

func boolCell(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// guideColumns are the guide's columns, in the order export writes them.
var guideColumns = []guideColumn{
	{"id", "事项ID", func(g *civiq.Guide) string { return g.ID }, setText(func(g *civiq.Guide) *string { return &g.ID })},
	{"service_id", "排队业务", func(g *civiq.Guide) string { return g.ServiceID }, setText(func(g *civiq.Guide) *string { return &g.ServiceID })},
	{"name", "事项名称", func(g *civiq.Guide) string { return g.Name }, setText(func(g *civiq.Guide) *string { return &g.Name })},
	{"name_en", "英文名称", func(g *civiq.Guide) string { return g.NameEn }, setText(func(g *civiq.Guide) *string { return &g.NameEn })},
	{"basic_code", "基本编码", func(g *civiq.Guide) string { return g.BasicCode }, setText(func(g *civiq.Guide) *string { return &g.BasicCode })},
	{"impl_code", "实施编码", func(g *civiq.Guide) string { return g.ImplCode }, setText(func(g *civiq.Guide) *string { return &g.ImplCode })},
	{"item_type", "事项类型", func(g *civiq.Guide) string { return g.ItemType }, setText(func(g *civiq.Guide) *string { return &g.ItemType })},
	{"level", "行使层级", func(g *civiq.Guide) string { return g.Level }, setText(func(g *civiq.Guide) *string { return &g.Level })},
	{"authority", "实施主体", func(g *civiq.Guide) string { return g.Authority }, setText(func(g *civiq.Guide) *string { return &g.Authority })},
	{"authority_code", "实施主体编码", func(g *civiq.Guide) string { return g.AuthorityCode }, setText(func(g *civiq.Guide) *string { return &g.AuthorityCode })},
	{"audience", "服务对象", func(g *civiq.Guide) string { return strings.Join(g.Audience, "、") }, setList(func(g *civiq.Guide) *[]string { return &g.Audience })},
	{"basis", "设定依据", func(g *civiq.Guide) string { return g.Basis }, setText(func(g *civiq.Guide) *string { return &g.Basis })},
	{"conditions", "受理条件", func(g *civiq.Guide) string { return g.Conditions }, setText(func(g *civiq.Guide) *string { return &g.Conditions })},
	{"process", "办理流程", func(g *civiq.Guide) string { return strings.Join(g.Process, "\n") },
		func(g *civiq.Guide, v string) error { g.Process = strings.Split(v, "\n"); return nil }},
	{"forms", "办理形式", func(g *civiq.Guide) string { return strings.Join(g.Forms, "、") }, setList(func(g *civiq.Guide) *[]string { return &g.Forms })},
	{"location", "办理地点", func(g *civiq.Guide) string { return g.Location }, setText(func(g *civiq.Guide) *string { return &g.Location })},
	{"hours", "办理时间", func(g *civiq.Guide) string { return g.Hours }, setText(func(g *civiq.Guide) *string { return &g.Hours })},
	{"legal_days", "法定办结时限（工作日）", func(g *civiq.Guide) string { return strconv.Itoa(g.LegalDays) }, setInt(func(g *civiq.Guide) *int { return &g.LegalDays })},
	{"promised_days", "承诺办结时限（工作日）", func(g *civiq.Guide) string { return strconv.Itoa(g.PromisedDays) }, setInt(func(g *civiq.Guide) *int { return &g.PromisedDays })},
	{"visits", "到办事现场次数", func(g *civiq.Guide) string { return strconv.Itoa(g.Visits) }, setInt(func(g *civiq.Guide) *int { return &g.Visits })},
	{"fee", "是否收费", func(g *civiq.Guide) string { return boolCell(g.Fee) }, setBool(func(g *civiq.Guide) *bool { return &g.Fee })},
	{"fees", "收费项目", feesCell, parseFeesCell},
	{"consult", "咨询方式", func(g *civiq.Guide) string { return g.Consult }, setText(func(g *civiq.Guide) *string { return &g.Consult })},
	{"complaint", "监督投诉方式", func(g *civiq.Guide) string { return g.Complaint }, setText(func(g *civiq.Guide) *string { return &g.Complaint })},
	{"online", "是否网办", func(g *civiq.Guide) string { return boolCell(g.Online) }, setBool(func(g *civiq.Guide) *bool { return &g.Online })},
	{"online_url", "网办地址", func(g *civiq.Guide) string { return g.OnlineURL }, setText(func(g *civiq.Guide) *string { return &g.OnlineURL })},
	{"appointment", "是否预约办理", func(g *civiq.Guide) string { return boolCell(g.Appointment) }, setBool(func(g *civiq.Guide) *bool { return &g.Appointment })},
	{"delivery", "是否支持物流快递", func(g *civiq.Guide) string { return boolCell(g.Delivery) }, setBool(func(g *civiq.Guide) *bool { return &g.Delivery })},
	{"result_type", "审批结果类型", func(g *civiq.Guide) string { return g.ResultType }, setText(func(g *civiq.Guide) *string { return &g.ResultType })},
	{"result_name", "审批结果名称", func(g *civiq.Guide) string { return g.ResultName }, setText(func(g *civiq.Guide) *string { return &g.ResultName })},
	{"keywords", "关键词", func(g *civiq.Guide) string { return strings.Join(g.Keywords, "、") }, setList(func(g *civiq.Guide) *[]string { return &g.Keywords })},
}

var necessityLabels = map[string]string{civiq.NeedRequired: "必要", civiq.NeedOptional: "非必要", civiq.NeedConditional: "情形必要"}
var formLabels = map[string]string{civiq.FormOriginal: "原件", civiq.FormCopy: "复印件", civiq.FormOriginalCopy: "原件和复印件", civiq.FormElectronic: "电子件"}

// fromLabel reads a necessity or form written as its key or its Chinese
// label; anything else is kept for Check to report.
func fromLabel(labels map[string]string, v string) string {
	for k, l := range labels {
		if v == l || strings.EqualFold(v, k) {
			return k
		}
	}
	return v
}

func setMText(p func(m *civiq.Material) *string) func(*civiq.Material, string) error {
	return func(m *civiq.Material, v string) error { *p(m) = v; return nil }
}

// materialColumns follow the guide's columns; each material is a row.
var materialColumns = []materialColumn{
	{"material_id", "材料编号", func(m *civiq.Material) string { return m.ID }, setMText(func(m *civiq.Material) *string { return &m.ID })},
	{"material_name", "材料名称", func(m *civiq.Material) string { return m.Name }, setMText(func(m *civiq.Material) *string { return &m.Name })},
	{"material_name_en", "材料英文名称", func(m *civiq.Material) string { return m.NameEn }, setMText(func(m *civiq.Material) *string { return &m.NameEn })},
	{"material_necessity", "材料必要性", func(m *civiq.Material) string { return necessityLabels[m.Necessity] },
		func(m *civiq.Material, v string) error { m.Necessity = fromLabel(necessityLabels, v); return nil }},
	{"material_form", "材料形式", func(m *civiq.Material) string { return formLabels[m.Form] },
		func(m *civiq.Material, v string) error { m.Form = fromLabel(formLabels, v); return nil }},
	{"material_copies", "份数", func(m *civiq.Material) string { return strconv.Itoa(m.Copies) },
		func(m *civiq.Material, v string) error { n, err := parseCSVInt(v); m.Copies = n; return err }},
	{"material_source", "来源渠道", func(m *civiq.Material) string { return m.Source }, setMText(func(m *civiq.Material) *string { return &m.Source })},
	{"material_spec", "纸质规格", func(m *civiq.Material) string { return m.Spec }, setMText(func(m *civiq.Material) *string { return &m.Spec })},
	{"material_blank_url", "空白表格", func(m *civiq.Material) string { return m.BlankURL }, setMText(func(m *civiq.Material) *string { return &m.BlankURL })},
	{"material_sample_url", "示例样表", func(m *civiq.Material) string { return m.SampleURL }, setMText(func(m *civiq.Material) *string { return &m.SampleURL })},
	{"material_notes", "填报须知", func(m *civiq.Material) string { return m.Notes }, setMText(func(m *civiq.Material) *string { return &m.Notes })},
	{"material_standard", "受理标准", func(m *civiq.Material) string { return m.Standard }, setMText(func(m *civiq.Material) *string { return &m.Standard })},
}

// splitList reads a list cell: items separated by 、 , ， ; ； or new lines.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == '、' || r == ',' || r == '，' || r == ';' || r == '；' || r == '\n' || r == '\r'
	})
}

func parseCSVInt(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100000 {
		return 0, fmt.Errorf("%q is not a whole number", v)
	}
	return n, nil
}

func parseCSVBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "否", "no", "n", "false", "0", "不收费":
		return false, nil
	case "是", "yes", "y", "true", "1", "收费":
		return true, nil
	}
	return false, fmt.Errorf("%q must be 是 or 否 (yes or no)", v)
}

// feesCell writes fee items one a line: 名称|标准|减免.
func feesCell(g *civiq.Guide) string {
	lines := make([]string, 0, len(g.Fees))
	for _, f := range g.Fees {
		l := f.Name + "|" + f.Standard
		if f.Reduction != "" {
			l += "|" + f.Reduction
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func parseFeesCell(g *civiq.Guide, v string) error {
	g.Fees = nil
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(strings.ReplaceAll(line, "｜", "|"), "|")
		if len(parts) < 2 || len(parts) > 3 {
			return fmt.Errorf("write each fee item on its own line as 名称|标准 or 名称|标准|减免")
		}
		f := civiq.Fee{Name: parts[0], Standard: parts[1]}
		if len(parts) == 3 {
			f.Reduction = parts[2]
		}
		g.Fees = append(g.Fees, f)
	}
	return nil
}

// csvHeader is a column's header as export writes it: 事项名称(name).
func csvHeader(label, key string) string { return label + "(" + key + ")" }

// matchHeader finds the column a header cell names: its key, its label, or
// both as export writes them.
func matchHeader(cell string) string {
	cell = strings.TrimSpace(cell)
	if i := strings.LastIndexAny(cell, "(（"); i > 0 && (strings.HasSuffix(cell, ")") || strings.HasSuffix(cell, "）")) {
		key := strings.TrimSpace(strings.TrimRight(cell[i:], ")）"))
		key = strings.TrimLeft(key, "(（")
		if knownColumn(key) {
			return key
		}
	}
	for _, c := range guideColumns {
		if strings.EqualFold(cell, c.Key) || cell == c.Label {
			return c.Key
		}
	}
	for _, c := range materialColumns {
		if strings.EqualFold(cell, c.Key) || cell == c.Label {
			return c.Key
		}
	}
	return ""
}

func knownColumn(key string) bool {
	for _, c := range guideColumns {
		if c.Key == key {
			return true
		}
	}
	for _, c := range materialColumns {
		if c.Key == key {
			return true
		}
	}
	return false
}

// ReadCSV reads the CSV format: a header row naming the columns
// (in any order; see guideColumns and materialColumns), then one row per
// guide that may carry its first material, followed by one row per further
// material with the guide's columns left empty.
func ReadCSV(data []byte) ([]civiq.GuideRow, civiq.ImportErrors) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err == io.EOF {
		return nil, civiq.ImportErrors{{Line: 1, Message: "the file is empty: the first row names the columns"}}
	}
	if err != nil {
		return nil, civiq.ImportErrors{csvError(err)}
	}
	var errs civiq.ImportErrors
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		key := matchHeader(h)
		switch {
		case strings.TrimSpace(h) == "":
		case key == "":
			errs = append(errs, civiq.ImportError{Line: 1, Field: strings.TrimSpace(h), Message: fmt.Sprintf("unknown column %q", strings.TrimSpace(h))})
		case seen[key]:
			errs = append(errs, civiq.ImportError{Line: 1, Field: key, Message: fmt.Sprintf("column %s appears twice", key)})
		default:
			cols[i], seen[key] = key, true
		}
	}
	for _, need := range []string{"name", "service_id"} {
		if !seen[need] {
			errs = append(errs, civiq.ImportError{Line: 1, Field: need, Message: "the header has no column " + need})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	guideSet := map[string]func(*civiq.Guide, string) error{}
	for _, c := range guideColumns {
		guideSet[c.Key] = c.set
	}
	matSet := map[string]func(*civiq.Material, string) error{}
	for _, c := range materialColumns {
		matSet[c.Key] = c.set
	}
	var rows []civiq.GuideRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, append(errs, csvError(err))
		}
		for i := range rec {
			rec[i] = csvfile.Unguard(rec[i]) // what WriteCSV guarded
		}
		line, _ := r.FieldPos(0)
		hasGuide, hasMaterial := false, false
		for i, v := range rec {
			if i >= len(cols) || strings.TrimSpace(v) == "" || cols[i] == "" {
				continue
			}
			if strings.HasPrefix(cols[i], "material_") {
				hasMaterial = true
			} else {
				hasGuide = true
			}
		}
		if len(rec) > len(cols) {
			for _, v := range rec[len(cols):] {
				if strings.TrimSpace(v) != "" {
					errs = append(errs, civiq.ImportError{Line: line, Message: "the row has more cells than the header has columns"})
					break
				}
			}
		}
		if !hasGuide && !hasMaterial {
			continue
		}
		if hasGuide {
			if len(rows) >= civiq.MaxImportGuides {
				return nil, civiq.ImportErrors{{Line: line, Message: fmt.Sprintf("a file holds at most %d guides", civiq.MaxImportGuides)}}
			}
			rows = append(rows, civiq.GuideRow{Line: line, Flat: true})
		} else if len(rows) == 0 {
			errs = append(errs, civiq.ImportError{Line: line, Field: "name", Message: "a material row comes before any guide: the guide's row needs its name"})
			continue
		}
		row := &rows[len(rows)-1]
		var m *civiq.Material
		if hasMaterial {
			row.Guide.Materials = append(row.Guide.Materials, civiq.Material{})
			row.MaterialLines = append(row.MaterialLines, line)
			m = &row.Guide.Materials[len(row.Guide.Materials)-1]
		}
		for i, v := range rec {
			if i >= len(cols) || cols[i] == "" {
				continue
			}
			key := cols[i]
			if set, ok := guideSet[key]; ok {
				if !hasGuide {
					continue
				}
				if err := set(&row.Guide, v); err != nil {
					errs = append(errs, civiq.ImportError{Line: line, Field: key, Message: key + ": " + err.Error()})
				}
				continue
			}
			if m != nil {
				if err := matSet[key](m, v); err != nil {
					errs = append(errs, civiq.ImportError{Line: line, Field: key, Message: key + ": " + err.Error()})
				}
			}
		}
		if len(errs) >= civiq.MaxImportErrors {
			return nil, errs
		}
	}
	return rows, errs
}

func csvError(err error) civiq.ImportError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return civiq.ImportError{Line: pe.Line, Message: "malformed CSV: " + pe.Err.Error()}
	}
	return civiq.ImportError{Message: "malformed CSV: " + err.Error()}
}

// WriteCSV writes guides in the CSV format, by the convention of every
// CSV file of civiq (package csvfile).
func WriteCSV(w io.Writer, guides []civiq.Guide) error {
	cw := csvfile.NewWriter(w)
	header := make([]string, 0, len(guideColumns)+len(materialColumns))
	for _, c := range guideColumns {
		header = append(header, csvHeader(c.Label, c.Key))
	}
	for _, c := range materialColumns {
		header = append(header, csvHeader(c.Label, c.Key))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := range guides {
		g := &guides[i]
		n := max(len(g.Materials), 1)
		for j := 0; j < n; j++ {
			rec := make([]string, 0, len(header))
			for _, c := range guideColumns {
				v := ""
				if j == 0 {
					v = c.get(g)
				}
				rec = append(rec, v)
			}
			for _, c := range materialColumns {
				v := ""
				if j < len(g.Materials) {
					v = c.get(&g.Materials[j])
				}
				rec = append(rec, v)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	return cw.Flush()
}

// Export is the JSON format of a hall's catalogue.
type Export struct {
	HallID     string        `json:"hall_id"`
	ExportedAt time.Time     `json:"exported_at"`
	Guides     []civiq.Guide `json:"guides"`
}
