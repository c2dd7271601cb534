package civiq_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/guidefile"
	"github.com/civiq/civiq/sqlstore"
)

// demoEnv is the engine test environment with the demo catalogue loaded.
func demoEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	if loaded, err := e.eng.LoadDemoGuides(e.ctx); err != nil || !loaded {
		t.Fatalf("LoadDemoGuides = %v, %v; want true, nil", loaded, err)
	}
	if again, err := e.eng.LoadDemoGuides(e.ctx); err != nil || again {
		t.Fatalf("second LoadDemoGuides = %v, %v; want false, nil", again, err)
	}
	return e
}

// importFile reads a catalogue file and imports it into the demo hall, as
// the API does.
func (e *env) importFile(format string, data []byte, replace bool) (*civiq.ImportResult, error) {
	rows, faults := guidefile.Read(format, data)
	return e.eng.ImportGuides(e.ctx, "demo", civiq.GuideImport{Rows: rows, Faults: faults, Replace: replace})
}

func (e *env) search(q string) []civiq.Guide {
	e.tb.Helper()
	gs, _, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Text: q})
	if err != nil {
		e.tb.Fatalf("search %q: %v", q, err)
	}
	return gs
}

func guideIDs(gs []civiq.Guide) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// TestDemoGuides checks the catalogue that ships: at least 30 good items,
// every demo service has some, every item lists its materials.
func TestDemoGuides(t *testing.T) {
	gs, err := civiq.DemoGuides()
	if err != nil {
		t.Fatalf("DemoGuides: %v", err)
	}
	if len(gs) < 30 {
		t.Errorf("the demo catalogue has %d items; want at least 30", len(gs))
	}
	per := map[string]int{}
	for _, g := range gs {
		per[g.ServiceID]++
		if len(g.Materials) == 0 {
			t.Errorf("%s has no materials", g.ID)
		}
		if g.NameEn == "" || g.ItemType == "" || g.Authority == "" || g.ImplCode == "" || g.BasicCode == "" || g.Basis == "" || g.Conditions == "" {
			t.Errorf("%s lacks a field a citizen needs: %+v", g.ID, g.Summary())
		}
		if g.LegalDays > 0 && g.PromisedDays > g.LegalDays {
			t.Errorf("%s promises more than the law allows", g.ID)
		}
	}
	for _, s := range []string{"general", "property", "tax", "social"} {
		if per[s] < 5 {
			t.Errorf("service %s has %d demo items; want at least 5", s, per[s])
		}
	}
}

// TestGuideSearchRelevance searches the demo catalogue as citizens do:
// parts of names and the words people use, three characters or more
// through the trigram index and shorter ones with LIKE.
func TestGuideSearchRelevance(t *testing.T) {
	e := demoEnv(t)
	tests := []struct {
		q string
		// first are the ids the results start with, in any order;
		// also must be somewhere in the results.
		first, also []string
		// service, when set, is the service of the first min results.
		service string
		min     int
	}{
		{q: "不动产", service: "property", min: 10, also: []string{"demo-t-deed"}},
		{q: "不动产登记资料", first: []string{"demo-p-query"}},
		{q: "房产证", first: []string{"demo-p-reissue", "demo-p-transfer", "demo-p-first", "demo-p-inherit", "demo-p-change", "demo-p-correct", "demo-p-query", "demo-t-deed"}}, // the keyword holders
		{q: "社保卡", first: []string{"demo-s-card", "demo-s-card-reissue", "demo-s-card-lost"}, service: "social", min: 3},
		{q: "社会保障卡", first: []string{"demo-s-card", "demo-s-card-reissue", "demo-s-card-lost"}},
		{q: "保障卡申领", first: []string{"demo-s-card"}},
		{q: "异地就医", first: []string{"demo-m-offsite"}},
		{q: "居住证", first: []string{"demo-h-permit"}},
		{q: "身份证", first: []string{"demo-h-idcard"}},
		{q: "营业执照", first: []string{"demo-b-individual", "demo-b-company", "demo-b-change"}, also: []string{"demo-t-new"}},
		{q: "公积金", first: []string{"demo-f-rent", "demo-f-loan", "demo-f-employer"}},
		{q: "契税", first: []string{"demo-t-deed"}},                                                          // two characters: LIKE
		{q: "医保", also: []string{"demo-m-enrol", "demo-m-offsite", "demo-m-transfer", "demo-m-maternity"}}, // a keyword only
		{q: "户口", first: []string{"demo-h-move"}, also: []string{"demo-h-birth"}},
		{q: "过户", first: []string{"demo-p-transfer"}},
		{q: "社保", also: []string{"demo-s-card", "demo-s-proof", "demo-s-flex"}, service: "social", min: 5},
		{q: "抵押 注销", first: []string{"demo-p-mortgage-cancel"}}, // two words, each must match
		{q: "不动产 抵押权", first: []string{"demo-p-mortgage", "demo-p-mortgage-cancel"}},
		{q: "　房产证　", first: []string{"demo-p-reissue", "demo-p-transfer", "demo-p-first", "demo-p-inherit", "demo-p-change", "demo-p-correct", "demo-p-query", "demo-t-deed"}},
		{q: "000173001000", first: []string{"demo-p-first"}}, // a basic code
		{q: "不存在的事项"},
		{q: `"%_\`},
		{q: "%"},
		{q: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			gs := e.search(tt.q)
			ids := guideIDs(gs)
			if tt.first == nil && tt.also == nil && tt.min == 0 && len(gs) > 0 {
				t.Fatalf("%q found %q; want nothing", tt.q, ids)
			}
			if len(gs) < len(tt.first) || len(gs) < tt.min {
				t.Fatalf("%q found %q; want at least %d", tt.q, ids, max(len(tt.first), tt.min))
			}
			head := ids[:len(tt.first)]
			for _, id := range tt.first {
				if !slices.Contains(head, id) {
					t.Errorf("%q: results start %q; want %s among the first %d", tt.q, head, id, len(tt.first))
				}
			}
			for _, id := range tt.also {
				if !slices.Contains(ids, id) {
					t.Errorf("%q found %q; want %s too", tt.q, ids, id)
				}
			}
			for _, g := range gs[:tt.min] {
				if tt.service != "" && g.ServiceID != tt.service {
					t.Errorf("%q found %s of %s among the first %d; want only %s", tt.q, g.ID, g.ServiceID, tt.min, tt.service)
				}
			}
		})
	}
}

func TestGuideListAndPages(t *testing.T) {
	e := demoEnv(t)
	all, more, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Limit: 200})
	if err != nil || more {
		t.Fatalf("Guides = %d, %v, %v", len(all), more, err)
	}
	demo, _ := civiq.DemoGuides()
	if !slices.Equal(guideIDs(all), guideIDs(demo)) {
		t.Errorf("the hall's order %q; want the catalogue's %q", guideIDs(all), guideIDs(demo))
	}
	page, more, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Limit: 10, Offset: 10})
	if err != nil || !more || !slices.Equal(guideIDs(page), guideIDs(all[10:20])) {
		t.Errorf("page 2 = %q, more %v, %v; want %q, true", guideIDs(page), more, err, guideIDs(all[10:20]))
	}
	tax, _, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", ServiceID: "tax"})
	if err != nil || len(tax) < 5 {
		t.Fatalf("tax guides = %d, %v", len(tax), err)
	}
	for _, g := range tax {
		if g.ServiceID != "tax" {
			t.Errorf("service tax lists %s of %s", g.ID, g.ServiceID)
		}
	}
	svcSearch, _, _ := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", ServiceID: "tax", Text: "不动产"})
	if ids := guideIDs(svcSearch); !slices.Equal(ids, []string{"demo-t-deed"}) {
		t.Errorf("不动产 in tax = %q; want only demo-t-deed", ids)
	}
	for _, q := range []civiq.GuideQuery{{HallID: "demo", Limit: 201}, {HallID: "demo", Limit: -1}, {HallID: "demo", Offset: -1}} {
		_, _, err := e.eng.Guides(e.ctx, q)
		wantErr(t, err, civiq.EInvalid, "")
	}
	_, _, err = e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "nowhere"})
	wantErr(t, err, civiq.ENotFound, "")
}

func TestGuideCheck(t *testing.T) {
	good := func() civiq.Guide {
		return civiq.Guide{ServiceID: "general", Name: "居住证申领", PromisedDays: 10, LegalDays: 15,
			Materials: []civiq.Material{{Name: "居民身份证"}}}
	}
	tests := []struct {
		name   string
		change func(g *civiq.Guide)
		field  string // "" for a good guide
	}{
		{"good", func(g *civiq.Guide) {}, ""},
		{"no name", func(g *civiq.Guide) { g.Name = "  " }, "name"},
		{"long name", func(g *civiq.Guide) { g.Name = strings.Repeat("长", 101) }, "name"},
		{"no service", func(g *civiq.Guide) { g.ServiceID = "" }, "service_id"},
		{"bad id", func(g *civiq.Guide) { g.ID = "Bad ID" }, "id"},
		{"bad item type", func(g *civiq.Guide) { g.ItemType = "行政服务" }, "item_type"},
		{"good item type", func(g *civiq.Guide) { g.ItemType = "公共服务" }, ""},
		{"bad level", func(g *civiq.Guide) { g.Level = "区级" }, "level"},
		{"bad audience", func(g *civiq.Guide) { g.Audience = []string{"自然人", "外星人"} }, "audience"},
		{"bad form", func(g *civiq.Guide) { g.Forms = []string{"电话办理"} }, "forms"},
		{"negative days", func(g *civiq.Guide) { g.PromisedDays = -1 }, "promised_days"},
		{"promise beyond the law", func(g *civiq.Guide) { g.PromisedDays = 20 }, "promised_days"},
		{"即办", func(g *civiq.Guide) { g.PromisedDays, g.LegalDays = 0, 0 }, ""},
		{"too many days", func(g *civiq.Guide) { g.LegalDays = 366 }, "legal_days"},
		{"visits", func(g *civiq.Guide) { g.Visits = 11 }, "visits"},
		{"fee without items", func(g *civiq.Guide) { g.Fee = true }, "fees"},
		{"items without fee", func(g *civiq.Guide) { g.Fees = []civiq.Fee{{Name: "工本费", Standard: "10元"}} }, "fee"},
		{"fee item without standard", func(g *civiq.Guide) { g.Fee, g.Fees = true, []civiq.Fee{{Name: "工本费"}} }, "fees"},
		{"bad online url", func(g *civiq.Guide) { g.OnlineURL = "javascript:alert(1)" }, "online_url"},
		{"relative url", func(g *civiq.Guide) { g.OnlineURL = "/forms/a.pdf" }, ""},
		{"protocol-relative url", func(g *civiq.Guide) { g.OnlineURL = "//evil.example/x" }, "online_url"},
		{"code", func(g *civiq.Guide) { g.BasicCode = "000 173" }, "basic_code"},
		{"material without name", func(g *civiq.Guide) { g.Materials[0].Name = "" }, "materials[0].name"},
		{"material necessity", func(g *civiq.Guide) { g.Materials[0].Necessity = "必须" }, "materials[0].necessity"},
		{"material form", func(g *civiq.Guide) { g.Materials[0].Form = "扫描件" }, "materials[0].form"},
		{"material copies", func(g *civiq.Guide) { g.Materials[0].Copies = 100 }, "materials[0].copies"},
		{"material ids twice", func(g *civiq.Guide) {
			g.Materials = append(g.Materials, civiq.Material{ID: "m1", Name: "照片"})
		}, "materials[1].id"},
		{"material blank url", func(g *civiq.Guide) { g.Materials[0].BlankURL = "ftp://x/y" }, "materials[0].blank_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := good()
			tt.change(&g)
			err := g.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v; want nil", err)
				}
				return
			}
			wantErr(t, err, civiq.EInvalid, tt.field)
		})
	}
	g := good()
	g.Normalize()
	if m := g.Materials[0]; m.ID != "m1" || m.Necessity != civiq.NeedRequired || m.Form != civiq.FormOriginal || m.Copies != 1 {
		t.Errorf("material defaults = %+v", m)
	}
}

const goodCSV = "\uFEFF事项名称(name),排队业务(service_id),承诺办结时限（工作日）(promised_days),法定办结时限（工作日）(legal_days),是否收费(fee),收费项目(fees),关键词(keywords),材料名称(material_name),材料必要性(material_necessity),材料形式(material_form),份数(material_copies)\r\n" +
	"新办事项甲,general,5,20,是,工本费|10元/本,甲证、新证,申请表,必要,原件,1\r\n" +
	",,,,,,,身份证,必要,原件和复印件,2\r\n" +
	",,,,,,,委托书,情形必要,原件,\r\n" +
	"\r\n" +
	"新办事项乙,tax,0,0,否,,\"乙,税\",身份证,必要,原件,1\r\n"

// TestImportCSV imports a good CSV written by a spreadsheet (BOM, CRLF,
// Chinese headers, a material per row) and reads it back.
func TestImportCSV(t *testing.T) {
	e := newEnv(t)
	res, err := e.importFile(guidefile.CSV, []byte(goodCSV), false)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if *res != (civiq.ImportResult{Created: 2}) {
		t.Errorf("import result %+v", res)
	}
	gs, _ := e.eng.ExportGuides(e.ctx, "demo")
	if len(gs) != 2 {
		t.Fatalf("found %d guides", len(gs))
	}
	a := gs[0]
	if a.Name != "新办事项甲" || a.ServiceID != "general" || a.PromisedDays != 5 || a.LegalDays != 20 || !a.Fee ||
		!slices.Equal(a.Keywords, []string{"甲证", "新证"}) || len(a.Fees) != 1 || a.Fees[0].Standard != "10元/本" {
		t.Errorf("guide 甲 = %+v", a)
	}
	want := []civiq.Material{
		{ID: "m1", Name: "申请表", Necessity: civiq.NeedRequired, Form: civiq.FormOriginal, Copies: 1},
		{ID: "m2", Name: "身份证", Necessity: civiq.NeedRequired, Form: civiq.FormOriginalCopy, Copies: 2},
		{ID: "m3", Name: "委托书", Necessity: civiq.NeedConditional, Form: civiq.FormOriginal, Copies: 1},
	}
	if !slices.Equal(a.Materials, want) {
		t.Errorf("materials of 甲 = %+v; want %+v", a.Materials, want)
	}
	if b := gs[1]; !slices.Equal(b.Keywords, []string{"乙", "税"}) || len(b.Materials) != 1 || b.ServiceID != "tax" {
		t.Errorf("guide 乙 = %+v", b)
	}
	// Importing the same file again matches nothing by id (none given):
	// two more guides.
	res, err = e.importFile(guidefile.CSV, []byte(goodCSV), false)
	if err != nil || res.Created != 2 {
		t.Errorf("second import = %+v, %v", res, err)
	}
}

// TestImportReportsEveryBadRow feeds files with many faults: each fault is
// reported with its line and field, and nothing of the file is imported.
func TestImportReportsEveryBadRow(t *testing.T) {
	e := demoEnv(t)
	before, _ := e.eng.ExportGuides(e.ctx, "demo")
	tests := []struct {
		name   string
		format string
		file   string
		want   []civiq.ImportError // line and field of each; messages not compared
	}{
		{"csv", guidefile.CSV,
			"name,service_id,promised_days,legal_days,fee,material_name,material_necessity,material_copies\n" +
				"好的事项,general,1,5,否,申请表,必要,1\n" + // line 2: good
				",general,1,5,否,申请表,必要,1\n" + // 3: no name
				"坏的业务,nowhere,1,5,否,申请表,必要,1\n" + // 4: unknown service
				"天数,general,三,5,否,申请表,必要,1\n" + // 5: not a number
				",,,,,,必须,1\n" + // 6: material without name, bad necessity
				"收费,general,1,5,也许,申请表,必要,1\n" + // 7: bad boolean
				"超时,general,9,5,否,,,\n" + // 8: promised beyond legal
				"份数,general,1,5,否,申请表,必要,-3\n", // 9: bad copies
			[]civiq.ImportError{
				{Line: 3, Field: "name"}, {Line: 4, Field: "service_id"}, {Line: 5, Field: "promised_days"},
				{Line: 6, Field: "material_name"}, {Line: 6, Field: "material_necessity"}, {Line: 7, Field: "fee"},
				{Line: 8, Field: "promised_days"}, {Line: 9, Field: "material_copies"},
			}},
		{"csv header", guidefile.CSV, "事项名称,颜色,name\n甲,红,乙\n",
			[]civiq.ImportError{{Line: 1, Field: "颜色"}, {Line: 1, Field: "name"}, {Line: 1, Field: "service_id"}}},
		{"csv material first", guidefile.CSV, "name,service_id,material_name\n,,申请表\n甲,general,\n",
			[]civiq.ImportError{{Line: 2, Field: "name"}}},
		{"csv quotes", guidefile.CSV, "name,service_id\n甲,general\n\"乙,general\n", []civiq.ImportError{{Line: 3}}},
		{"csv duplicate ids", guidefile.CSV, "id,name,service_id\na,甲,general\na,乙,general\n", []civiq.ImportError{{Line: 3, Field: "id"}}},
		{"csv id of another hall", guidefile.CSV, "id,name,service_id\nx-other,甲,general\n", []civiq.ImportError{{Line: 2, Field: "id"}}},
		{"json", guidefile.JSON, `{"guides": [
  {"name": "好的", "service_id": "general", "promised_days": 1, "materials": [{"name": "申请表"}]},
  {"name": "", "service_id": "general"},
  {"name": "天数", "service_id": "general", "promised_days": "三"},
  {"name": "字段", "service_id": "general", "colour": "red"},
  {"name": "材料", "service_id": "tax", "materials": [{"name": "a"}, {"name": "", "form": "扫描件"}]},
  17
]}`, []civiq.ImportError{{Line: 3, Field: "name"}, {Line: 4, Field: "promised_days"}, {Line: 5, Field: "colour"},
			{Line: 6, Field: "materials[1].name"}, {Line: 6, Field: "materials[1].form"}, {Line: 7}}},
		{"json syntax", guidefile.JSON, "[\n{\"name\": \"甲\",\n\"service_id\": general}\n]", []civiq.ImportError{{Line: 3}}},
		{"json shape", guidefile.JSON, `{"items": []}`, []civiq.ImportError{{Line: 1, Field: "guides"}}},
		{"empty", guidefile.JSON, `[]`, []civiq.ImportError{{Line: 1}}},
		{"not utf-8", guidefile.CSV, "name,service_id\n\xd6\xd0\xce\xc4,general\n", []civiq.ImportError{{Line: 2}}},
	}
	// A guide of another hall, whose id the file may not take.
	e.saveHall(func(h *civiq.Hall) {})
	other := civiq.Hall{ID: "other", Name: "其他大厅", Timezone: "Asia/Shanghai"}
	other.Defaults()
	if err := e.eng.SaveHall(e.ctx, &other); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.SaveService(e.ctx, &civiq.Service{HallID: "other", ID: "general", Prefix: "A", Name: "综合"}, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.SaveGuide(e.ctx, &civiq.Guide{ID: "x-other", HallID: "other", ServiceID: "general", Name: "别的"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, replace := range []bool{false, true} {
				_, err := e.importFile(tt.format, []byte(tt.file), replace)
				errs, ok := err.(civiq.ImportErrors)
				if !ok {
					t.Fatalf("import = %v; want ImportErrors", err)
				}
				var got []civiq.ImportError
				for _, x := range errs {
					if x.Message == "" {
						t.Errorf("an error without a message: %+v", x)
					}
					got = append(got, civiq.ImportError{Line: x.Line, Field: x.Field})
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("errors = %+v\nwant     %+v", errs, tt.want)
				}
			}
			after, _ := e.eng.ExportGuides(e.ctx, "demo")
			if !slices.Equal(guideIDs(after), guideIDs(before)) {
				t.Errorf("a bad file changed the catalogue: %d guides, was %d", len(after), len(before))
			}
		})
	}
}

// TestCSVRoundTrip exports the demo catalogue as CSV (with a BOM), imports
// it into an empty hall and compares every field.
func TestCSVRoundTrip(t *testing.T) {
	e := demoEnv(t)
	gs, err := e.eng.ExportGuides(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := guidefile.WriteCSV(&buf, gs); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF事项ID(id),")) {
		t.Fatalf("the CSV starts %q; want a BOM and the header", buf.Bytes()[:30])
	}
	rows, errs := guidefile.Read(guidefile.CSV, buf.Bytes())
	if len(errs) > 0 {
		t.Fatalf("parse the export: %v", errs)
	}
	if len(rows) != len(gs) {
		t.Fatalf("read %d guides; wrote %d", len(rows), len(gs))
	}
	for i := range rows {
		got, want := rows[i].Guide, gs[i]
		got.Normalize()
		got.HallID, got.Position, got.UpdatedAt = want.HallID, want.Position, want.UpdatedAt
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("guide %s changed on the way:\n got %s\nwant %s", want.ID, gj, wj)
		}
	}
	// Replacing the catalogue with its own export changes nothing but
	// updates every guide.
	res, err := e.importFile(guidefile.CSV, buf.Bytes(), true)
	if err != nil || *res != (civiq.ImportResult{Updated: len(gs)}) {
		t.Fatalf("re-import = %+v, %v", res, err)
	}
	// JSON too.
	js, _ := json.Marshal(guidefile.Export{HallID: "demo", Guides: gs})
	res, err = e.importFile(guidefile.JSON, js, true)
	if err != nil || *res != (civiq.ImportResult{Updated: len(gs)}) {
		t.Fatalf("re-import JSON = %+v, %v", res, err)
	}
	// Replace with a file of one guide removes the others; an item given
	// without id keeps the id of the guide with the same 实施编码.
	one := fmt.Sprintf("name,service_id,impl_code\n新名字,general,%s\n", gs[0].ImplCode)
	res, err = e.importFile(guidefile.CSV, []byte(one), true)
	if err != nil || *res != (civiq.ImportResult{Updated: 1, Deleted: len(gs) - 1}) {
		t.Fatalf("replace with one = %+v, %v", res, err)
	}
	left, _ := e.eng.ExportGuides(e.ctx, "demo")
	if len(left) != 1 || left[0].ID != gs[0].ID || left[0].Name != "新名字" {
		t.Errorf("left %+v", guideIDs(left))
	}
	if got := e.search("不动产"); len(got) != 0 {
		t.Errorf("removed guides still found: %q", guideIDs(got))
	}
	if got := e.search("新名字"); len(got) != 1 {
		t.Errorf("the renamed guide is not found by its new name: %q", guideIDs(got))
	}
}

func TestSaveAndDeleteGuide(t *testing.T) {
	e := demoEnv(t)
	g := civiq.Guide{HallID: "demo", ServiceID: "general", Name: "新事项", Keywords: []string{"测试关键"}}
	if err := e.eng.SaveGuide(e.ctx, &g); err != nil {
		t.Fatal(err)
	}
	if g.ID == "" || !civiq.ValidID(g.ID) {
		t.Errorf("new guide id %q", g.ID)
	}
	if got := e.search("测试关键"); len(got) != 1 || got[0].ID != g.ID {
		t.Errorf("search by keyword = %q", guideIDs(got))
	}
	g.Keywords = []string{"别的"}
	if err := e.eng.SaveGuide(e.ctx, &g); err != nil {
		t.Fatal(err)
	}
	if got := e.search("测试关键"); len(got) != 0 {
		t.Errorf("an old keyword still finds the guide: %q", guideIDs(got))
	}
	wantErr(t, e.eng.SaveGuide(e.ctx, &civiq.Guide{HallID: "demo", ServiceID: "nowhere", Name: "x"}), civiq.EInvalid, "service_id")
	wantErr(t, e.eng.SaveGuide(e.ctx, &civiq.Guide{HallID: "nowhere", ServiceID: "general", Name: "x"}), civiq.ENotFound, "")
	wantErr(t, e.eng.DeleteGuide(e.ctx, "other", g.ID), civiq.ENotFound, "")
	if err := e.eng.DeleteGuide(e.ctx, "demo", g.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.search("新事项"); len(got) != 0 {
		t.Errorf("a deleted guide is found: %q", guideIDs(got))
	}
	_, err := e.eng.Guide(e.ctx, g.ID)
	wantErr(t, err, civiq.ENotFound, "")
}

// BenchmarkGuideSearch searches a hall of 5,000 generated guides, as a
// kiosk does while a citizen types: three-character words through the
// trigram index and two-character ones with LIKE.
func BenchmarkGuideSearch(b *testing.B) {
	store, err := sqlstore.Open(filepath.Join(b.TempDir(), "bench.db"), sqlstore.Options{Synchronous: "OFF"})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	eng := civiq.NewEngine(store)
	if _, err := eng.LoadDemo(b.Context()); err != nil {
		b.Fatal(err)
	}
	demo, err := civiq.DemoGuides()
	if err != nil {
		b.Fatal(err)
	}
	var file bytes.Buffer
	var gs []civiq.Guide
	for i := 0; i < 5000; i++ {
		g := demo[i%len(demo)]
		g.ID = fmt.Sprintf("b%05d", i)
		g.ImplCode = fmt.Sprintf("%s%05d", g.ImplCode, i)
		g.Name = fmt.Sprintf("%s（第%d号）", g.Name, i)
		gs = append(gs, g)
	}
	json.NewEncoder(&file).Encode(guidefile.Export{Guides: gs})
	rows, faults := guidefile.Read(guidefile.JSON, file.Bytes())
	if _, err := eng.ImportGuides(b.Context(), "demo", civiq.GuideImport{Rows: rows, Faults: faults, Replace: true}); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"不动产", "房产证", "社保卡", "营业执照", "社保", "户口"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				got, _, err := eng.Guides(b.Context(), civiq.GuideQuery{HallID: "demo", Text: q})
				if err != nil || len(got) == 0 {
					b.Fatalf("%q: %d, %v", q, len(got), err)
				}
			}
		})
	}
}

func TestMatchEnglish(t *testing.T) {
	gs := []civiq.Guide{
		{ID: "a", Name: "抵押权首次登记", NameEn: "First registration of a mortgage"},
		{ID: "b", Name: "抵押权注销登记", NameEn: "Cancellation of a mortgage registration"},
		{ID: "c", Name: "护照", NameEn: "Passport", Keywords: []string{"travel document"}},
		{ID: "d", Name: "无英文名"},
		{ID: "e", Name: "社保卡", NameEn: "Mortgage-free social security card"},
	}
	for _, tt := range []struct {
		text string
		want string
	}{
		{"mortgage", "e b a"}, // at the start first, then earlier in the name
		{"mort", "e b a"},
		{"gage", ""}, // words start where they start
		{"MORTGAGE cancellation", "b"},
		{"travel", "c"}, // an English keyword
		{"passport", "c"},
		{"visa", ""},
		{"  ", ""},
	} {
		var ids []string
		for _, g := range civiq.MatchEnglish(gs, tt.text) {
			ids = append(ids, g.ID)
		}
		if got := strings.Join(ids, " "); got != tt.want {
			t.Errorf("MatchEnglish(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// guideReads counts the guides a store's transactions read whole
// (Guides), not the ids its index gives (GuideIDs).
type guideReads struct {
	civiq.Store
	n *int
}

type guideReadsTx struct {
	civiq.Tx
	n *int
}

func (s guideReads) View(ctx context.Context, fn func(civiq.Tx) error) error {
	return s.Store.View(ctx, func(tx civiq.Tx) error { return fn(guideReadsTx{tx, s.n}) })
}

func (tx guideReadsTx) Guides(q civiq.GuideQuery) ([]civiq.Guide, error) {
	gs, err := tx.Tx.Guides(q)
	*tx.n += len(gs)
	return gs, err
}

// An English search reads the hall's guides once: the English names are
// matched over them, the index's matches (Chinese names, keywords) come
// as ids. It read them twice: every guide, then each match again.
func TestEnglishGuideSearchReadsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.eng.LoadDemoGuides(e.ctx); err != nil {
		t.Fatal(err)
	}
	all, _, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	eng := civiq.NewEngine(guideReads{e.store, &reads})
	eng.Now = e.clock
	for _, text := range []string{"card", "12330100MB1A", "social"} { // the second an implementing code, found by the index
		reads = 0
		gs, _, err := eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Text: text})
		if err != nil || len(gs) == 0 {
			t.Fatalf("%q: %d guides, %v", text, len(gs), err)
		}
		if reads != len(all) {
			t.Errorf("%q read %d guides; the hall has %d, each read once", text, reads, len(all))
		}
		want, _, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Text: text})
		if err != nil || len(want) != len(gs) {
			t.Errorf("%q: %d found through the counting store, %d directly (%v)", text, len(gs), len(want), err)
		}
	}
}
