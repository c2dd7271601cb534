package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/csvfile"
	"github.com/civiq/civiq/xlsxfile"
)

// readXLSX reads the first sheet of a workbook with the standard library
// alone (the zip, the shared strings, the sheet's XML): a reader that
// shares nothing with the writer. Cells come back as their text, a row
// padded to its last cell.
func readXLSX(t testing.TB, data []byte) (sheet string, rows [][]string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal(files["xl/workbook.xml"], &wb); err != nil || len(wb.Sheets) == 0 {
		t.Fatalf("workbook.xml: %v %s", err, files["xl/workbook.xml"])
	}
	type rich struct {
		T string `xml:"t"`
		R []struct {
			T string `xml:"t"`
		} `xml:"r"`
	}
	text := func(r rich) string {
		s := r.T
		for _, x := range r.R {
			s += x.T
		}
		return s
	}
	var shared []string
	if b, ok := files["xl/sharedStrings.xml"]; ok {
		var sst struct {
			SI []rich `xml:"si"`
		}
		if err := xml.Unmarshal(b, &sst); err != nil {
			t.Fatal(err)
		}
		for _, si := range sst.SI {
			shared = append(shared, text(si))
		}
	}
	var ws struct {
		Rows []struct {
			C []struct {
				R  string `xml:"r,attr"`
				T  string `xml:"t,attr"`
				V  string `xml:"v"`
				Is rich   `xml:"is"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := xml.Unmarshal(files["xl/worksheets/sheet1.xml"], &ws); err != nil {
		t.Fatal(err)
	}
	col := regexp.MustCompile(`^([A-Z]+)\d+$`)
	for _, r := range ws.Rows {
		var row []string
		for _, c := range r.C {
			m := col.FindStringSubmatch(c.R)
			if m == nil {
				t.Fatalf("cell %q", c.R)
			}
			i := 0
			for _, ch := range m[1] {
				i = i*26 + int(ch-'A'+1)
			}
			for len(row) < i {
				row = append(row, "")
			}
			v := c.V
			switch c.T {
			case "s":
				n, err := strconv.Atoi(c.V)
				if err != nil || n >= len(shared) {
					t.Fatalf("shared string %q", c.V)
				}
				v = shared[n]
			case "inlineStr":
				v = text(c.Is)
			}
			row[i-1] = v
		}
		rows = append(rows, row)
	}
	return wb.Sheets[0].Name, rows
}

type staffRowJS struct {
	Period              string   `json:"period"`
	Kind                string   `json:"kind"`
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	Served              int      `json:"served"`
	MeanHandlingSeconds int      `json:"mean_handling_seconds"`
	P90HandlingSeconds  int      `json:"p90_handling_seconds"`
	IdleSeconds         int      `json:"idle_seconds"`
	NoShows             int      `json:"no_shows"`
	Transfers           int      `json:"transfers"`
	Ratings             int      `json:"ratings"`
	Satisfied           int      `json:"satisfied"`
	SatisfactionRate    *float64 `json:"satisfaction_rate"`
	OnBehalf            int      `json:"on_behalf"`
	Cases               int      `json:"cases"`
	CasesOnBehalf       int      `json:"cases_on_behalf"`
}

type serviceRowJS struct {
	Period            string   `json:"period"`
	Hour              *int     `json:"hour"`
	ServiceID         string   `json:"service_id"`
	Name              string   `json:"name"`
	TargetSeconds     int      `json:"target_seconds"`
	Arrivals          int      `json:"arrivals"`
	Called            int      `json:"called"`
	Served            int      `json:"served"`
	NoShows           int      `json:"no_shows"`
	MeanWaitSeconds   int      `json:"mean_wait_seconds"`
	P90WaitSeconds    int      `json:"p90_wait_seconds"`
	WithinTarget      int      `json:"within_target"`
	Missed            int      `json:"missed"`
	WithinTargetShare *float64 `json:"within_target_share"`
	Abandoned         int      `json:"abandoned"`
	AbandonedShare    *float64 `json:"abandoned_share"`
	OnBehalf          int      `json:"on_behalf"`
	Cases             int      `json:"cases"`
	CasesOnBehalf     int      `json:"cases_on_behalf"`
}

func pctJS(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x*100, 'f', 2, 64) + "%"
}

// The staff and service reports over the API: the JSON, the CSV file and
// the workbook (read by readXLSX, not by the library that wrote it) carry
// the same numbers, under Chinese headers; bad periods are 400 naming the
// field.
func TestReportsExport(t *testing.T) {
	ts := newTestServer(t)
	day := time.Date(2031, 3, 4, 9, 0, 0, 0, shanghaiLoc)
	ts.Clock.Set(day)
	ts.Admin = ts.login(t, "admin", civiqtest.AdminPassword) // a session of the clock's day
	var ids []string
	// The first, served, taken by a helper (帮办代办).
	ids = append(ids, ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/tickets", ts.Admin,
		map[string]any{"service_id": "tax", "on_behalf": map[string]string{"role": "grid"}}).want(t, 201)).ID)
	ts.Clock.Advance(time.Minute)
	for range 2 {
		ids = append(ids, ts.issue(t, ts.Admin, "tax").ID)
		ts.Clock.Advance(time.Minute)
	}
	ts.issue(t, ts.Admin, "general")
	for i, id := range ids {
		ts.Clock.Advance(time.Duration(2+i) * time.Minute)
		ts.callUntil(t, "5", id)
		ts.Clock.Advance(time.Duration(4+3*i) * time.Minute)
		if i == 1 {
			ts.act(t, ts.Admin, id, "no-show", nil)
		} else {
			ts.act(t, ts.Admin, id, "finish", nil)
		}
	}
	ts.do(t, "POST", "/api/v1/tickets/"+ids[0]+"/rating", "", map[string]any{"score": 5}).want(t, 201)
	// Two cases (of the guide's service, social) at counter 5: one
	// collected by a family member (帮办代办 on its 办结 move), one not.
	if ok, err := ts.Engine.LoadDemoGuides(context.Background()); err != nil || !ok {
		t.Fatalf("LoadDemoGuides = %v, %v", ok, err)
	}
	var numbers []string
	for _, id := range []string{ids[0], ids[2]} {
		var cs struct {
			Case struct{ Number string } `json:"case"`
		}
		ts.do(t, "POST", "/api/v1/tickets/"+id+"/cases", ts.Admin, map[string]any{"guide_id": "demo-s-card",
			"applicant": map[string]string{"name": "张三", "phone": apiPhone}, "materials": []map[string]string{{"id": "m1"}, {"id": "m3"}}}).want(t, 201).json(t, &cs)
		numbers = append(numbers, cs.Case.Number)
	}
	move := func(body map[string]any) *resp {
		return ts.do(t, "POST", "/api/v1/cases/"+numbers[0]+"/transition", ts.Admin, body)
	}
	move(map[string]any{"to": "reviewing", "on_behalf": map[string]string{"role": "family"}}).wantErr(t, 400, "invalid", "on_behalf")
	move(map[string]any{"to": "finished", "on_behalf": map[string]string{"role": "cousin"}}).wantErr(t, 400, "invalid", "on_behalf.role")
	var moved struct {
		Case struct {
			History []struct {
				To       string `json:"to"`
				OnBehalf *struct {
					Role string `json:"role"`
				} `json:"on_behalf"`
			} `json:"history"`
		} `json:"case"`
	}
	move(map[string]any{"to": "finished", "on_behalf": map[string]string{"role": "family"}}).want(t, 200).json(t, &moved)
	if h := moved.Case.History; len(h) != 2 || h[0].OnBehalf != nil || h[1].To != "finished" || h[1].OnBehalf == nil || h[1].OnBehalf.Role != "family" {
		t.Fatalf("the 办结 move does not keep its helper: %+v", h)
	}
	d := "2031-03-04"
	base := "/api/v1/halls/demo/reports/"

	var staff struct {
		HallID, From, To, By string
		Rows                 []staffRowJS `json:"rows"`
	}
	ts.do(t, "GET", base+"staff?from="+d+"&to="+d, ts.Admin, nil).want(t, 200).json(t, &staff)
	if staff.From != d || staff.To != d || staff.By != "range" || len(staff.Rows) != 2 {
		t.Fatalf("staff report: %+v", staff)
	}
	ctr := staff.Rows[0]
	if ctr.Kind != "counter" || ctr.ID != "5" || ctr.Served != 2 || ctr.NoShows != 1 || ctr.MeanHandlingSeconds != 420 ||
		ctr.P90HandlingSeconds != 600 || ctr.Ratings != 1 || ctr.SatisfactionRate == nil || *ctr.SatisfactionRate != 1 || staff.Rows[1].ID != "admin" ||
		ctr.OnBehalf != 1 || staff.Rows[1].OnBehalf != 1 || ctr.Cases != 2 || ctr.CasesOnBehalf != 1 || staff.Rows[1].CasesOnBehalf != 1 {
		t.Fatalf("counter 5: %+v; rows %+v", ctr, staff.Rows)
	}
	staffCells := func(x staffRowJS) []string {
		kind := map[string]string{"counter": "窗口", "clerk": "人员"}[x.Kind]
		n := strconv.Itoa
		return []string{x.Period, kind, x.ID, x.Name, n(x.Served), n(x.MeanHandlingSeconds), n(x.P90HandlingSeconds), n(x.IdleSeconds),
			n(x.NoShows), n(x.Transfers), n(x.Ratings), n(x.Satisfied), pctJS(x.SatisfactionRate), n(x.OnBehalf), n(x.Cases), n(x.CasesOnBehalf)}
	}

	var svc struct {
		Rows  []serviceRowJS `json:"rows"`
		Total serviceRowJS   `json:"total"`
	}
	ts.do(t, "GET", base+"services?from="+d+"&to="+d+"&by=hour", ts.Admin, nil).want(t, 200).json(t, &svc)
	if len(svc.Rows) != 3 || svc.Total.Arrivals != 4 || svc.Total.OnBehalf != 1 || svc.Total.Cases != 2 || svc.Total.CasesOnBehalf != 1 {
		t.Fatalf("service report: %+v", svc)
	}
	svcCells := func(x serviceRowJS) []string {
		n := strconv.Itoa
		hour := ""
		if x.Hour != nil {
			hour = strconv.Itoa(100 + *x.Hour)[1:] + ":00-" + strconv.Itoa(101 + *x.Hour)[1:] + ":00"
		}
		return []string{x.Period, hour, x.ServiceID, x.Name, n(x.TargetSeconds), n(x.Arrivals), n(x.Called), n(x.Served), n(x.NoShows),
			n(x.MeanWaitSeconds), n(x.P90WaitSeconds), n(x.WithinTarget), n(x.Missed), pctJS(x.WithinTargetShare), n(x.Abandoned),
			pctJS(x.AbandonedShare), n(x.OnBehalf), n(x.Cases), n(x.CasesOnBehalf)}
	}

	for _, c := range []struct {
		path, sheet string
		header      []string
		want        [][]string
	}{
		{base + "staff?from=" + d + "&to=" + d, "人员窗口", civiq.StaffReportHeaders(), [][]string{staffCells(staff.Rows[0]), staffCells(staff.Rows[1])}},
		{base + "services?from=" + d + "&to=" + d + "&by=hour", "事项等候", civiq.ServiceReportHeaders(),
			[][]string{svcCells(svc.Rows[0]), svcCells(svc.Rows[1]), svcCells(svc.Rows[2]), svcCells(svc.Total)}},
	} {
		want := append([][]string{c.header}, c.want...)
		res := ts.do(t, "GET", c.path+"&format=csv", ts.Admin, nil).want(t, 200)
		if res.Header.Get("Content-Type") != csvfile.ContentType || !strings.Contains(res.Header.Get("Content-Disposition"), ".csv") ||
			!bytes.HasPrefix(res.Body, csvfile.BOM) {
			t.Fatalf("%s csv: %v", c.path, res.Header)
		}
		rows, err := csv.NewReader(bytes.NewReader(csvfile.TrimBOM(res.Body))).ReadAll()
		if err != nil || !slices.EqualFunc(rows, want, slices.Equal) {
			t.Errorf("%s csv:\n%q\nwant\n%q (%v)", c.path, rows, want, err)
		}
		res = ts.do(t, "GET", c.path+"&format=xlsx", ts.Admin, nil).want(t, 200)
		if res.Header.Get("Content-Type") != xlsxfile.ContentType || !strings.Contains(res.Header.Get("Content-Disposition"), ".xlsx") {
			t.Fatalf("%s xlsx: %v", c.path, res.Header)
		}
		sheet, xrows := readXLSX(t, res.Body)
		for i := range xrows {
			for len(xrows[i]) < len(c.header) {
				xrows[i] = append(xrows[i], "")
			}
		}
		if sheet != c.sheet || !slices.EqualFunc(xrows, want, slices.Equal) {
			t.Errorf("%s xlsx sheet %q:\n%q\nwant\n%q", c.path, sheet, xrows, want)
		}
	}

	// Bad input: 400 naming the field, for both reports.
	for _, c := range []struct{ query, field string }{
		{"from=2031-02-30", "from"},
		{"to=04/03/2031", "to"},
		{"from=2031-03-10&to=2031-03-01", "to"},
		{"from=2030-01-01&to=2031-03-01", "to"},
		{"by=fortnight", "by"},
		{"format=pdf", "format"},
	} {
		for _, r := range []string{"staff", "services"} {
			ts.do(t, "GET", base+r+"?"+c.query, ts.Admin, nil).wantErr(t, 400, "invalid", c.field)
		}
	}
	ts.do(t, "GET", base+"staff?by=hour", ts.Admin, nil).wantErr(t, 400, "invalid", "by")
}
