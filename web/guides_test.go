package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

const guidePassword = civiqtest.AdminPassword

// guideServer is a test node (civiqtest) with the demo hall and its
// catalogue, and receipt keys, so that cases get signed receipts.
type guideServer struct {
	URL    string
	Engine *civiq.Engine
	Admin  string // bearer token
}

func newGuideServer(t testing.TB, opts ...func(*civiqtest.Server)) *guideServer {
	t.Helper()
	keys, err := civiq.NewReceiptKeys(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	n := civiqtest.New(t, append([]func(*civiqtest.Server){func(n *civiqtest.Server) { n.Engine.Receipts = keys }}, opts...)...)
	if _, err := n.Engine.LoadDemoGuides(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &guideServer{URL: n.URL, Engine: n.Engine, Admin: n.Admin}
}

// user adds a user of the role in the halls and returns a client signed
// in with a cookie, and the user's bearer token.
func (gs *guideServer) user(t testing.TB, name, role string, halls ...string) (*http.Client, string) {
	t.Helper()
	ctx := context.Background()
	if err := gs.Engine.CreateUser(ctx, &civiq.User{Username: name, Role: role, HallIDs: halls}, guidePassword); err != nil {
		t.Fatal(err)
	}
	token, _, _, err := gs.Engine.Login(ctx, name, guidePassword)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(gs.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: civiq.SessionCookie, Value: token, Path: "/"}})
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, token
}

// servedTicket takes a ticket of the service and calls it at counter 6.
func (gs *guideServer) servedTicket(t testing.TB, service string) *civiq.Ticket {
	t.Helper()
	ctx := context.Background()
	tk, err := gs.Engine.IssueTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: service, Channel: civiq.ChannelKiosk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		c, err := gs.Engine.CallNext(ctx, "demo", "6", nil)
		if err != nil || c == nil {
			t.Fatalf("call-next: %v %v", c, err)
		}
		if c.ID == tk.ID {
			return c
		}
	}
	t.Fatal("never called")
	return nil
}

func get(t testing.TB, c *http.Client, u string) (int, string) {
	t.Helper()
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func mustContain(t testing.TB, page string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(page, p) {
			t.Errorf("the page lacks %q", p)
		}
	}
}

func TestGuidePages(t *testing.T) {
	gs := newGuideServer(t)
	status, page := get(t, nil, gs.URL+"/halls/demo/guides")
	if status != 200 {
		t.Fatalf("guides: %d", status)
	}
	mustContain(t, page, `<html lang="zh-CN">`, `role="search"`, `name="q"`, "不动产登记", "社会保障卡申领", `href="/halls/demo/guides/demo-s-card"`,
		`/static/guide.js`, `href="/c"`)
	_, page = get(t, nil, gs.URL+"/halls/demo/guides?q="+url.QueryEscape("社保卡"))
	if i, j := strings.Index(page, "社会保障卡申领"), strings.Index(page, "国有建设用地"); i < 0 || j >= 0 {
		t.Errorf("社保卡 search: 社会保障卡申领 at %d, a property item at %d", i, j)
	}
	// English names and keywords are found too, in any case.
	_, page = get(t, nil, gs.URL+"/halls/demo/guides?lang=en&q="+url.QueryEscape("Social Security"))
	if !strings.Contains(page, "Applying for a social security card") {
		t.Error("an English search does not find the social security card")
	}
	_, page = get(t, nil, gs.URL+"/api/v1/halls/demo/guides?q=mortgage")
	if !strings.Contains(page, "First registration of a mortgage") || strings.Contains(page, "social security") {
		t.Errorf("q=mortgage: %.300s", page)
	}
	_, page = get(t, nil, gs.URL+"/halls/demo/guides?service=tax")
	if strings.Contains(page, "社会保障卡申领") || !strings.Contains(page, "契税申报") {
		t.Error("service=tax lists other services' guides")
	}
	_, page = get(t, nil, gs.URL+"/halls/demo/guides?lang=en")
	mustContain(t, page, `<html lang="en">`, "Applying for a social security card", "Service guides")

	status, page = get(t, nil, gs.URL+"/halls/demo/guides/demo-p-transfer")
	if status != 200 {
		t.Fatalf("guide: %d", status)
	}
	mustContain(t, page, "国有建设用地使用权及房屋所有权转移登记（二手房买卖）", `type="checkbox"`, "存量房买卖合同", "必要", "情形必要",
		`id="take"`, `href="/halls/demo/kiosk"`, `data-service="property"`, "3 个工作日", "不动产登记费（住宅）", "12330100MB1A00001X")
	// Materials are named in English on English pages (the demo's have
	// an English name each); a material without one shows its Chinese.
	_, page = get(t, nil, gs.URL+"/halls/demo/guides/demo-p-transfer?lang=en")
	mustContain(t, page, "Second-hand home sale contract", "Real estate registration application form")
	if strings.Contains(page, "存量房买卖合同") {
		t.Error("the English guide page names its materials in Chinese")
	}
	for _, u := range []string{"/halls/demo/guides/nope", "/halls/nowhere/guides", "/halls/nowhere/guides/demo-p-transfer"} {
		if status, _ := get(t, nil, gs.URL+u); status != 404 {
			t.Errorf("%s: %d; want 404", u, status)
		}
	}
}

func TestCasePages(t *testing.T) {
	gs := newGuideServer(t)
	staff, _ := gs.user(t, "clerk", civiq.RoleStaff, "demo")
	tk := gs.servedTicket(t, "social")
	path := "/halls/demo/cases/new?ticket=" + tk.ID

	if status, _ := get(t, nil, gs.URL+path); status != http.StatusSeeOther {
		t.Errorf("anonymous intake: %d; want a redirect to sign in", status)
	}
	status, page := get(t, staff, gs.URL+path)
	if status != 200 {
		t.Fatalf("intake: %d", status)
	}
	mustContain(t, page, tk.Number, `id="ci-form"`, "社会保障卡申领", `id="ci-name"`, `name="decision"`,
		`id="ci-behalf"`, `<option value="">申请人本人</option>`, `<option value="grid">社区网格员</option>`, `"behalf":""`)
	if strings.Contains(page, " selected>") || strings.Contains(page, "ci-behalf-hint") {
		t.Error("a ticket taken in person starts the 帮办代办 choice with a helper")
	}
	// A ticket handled on someone's behalf: the choice starts with its role.
	if _, err := gs.Engine.SetTicketBehalf(context.Background(), tk.ID, &civiq.OnBehalf{Role: civiq.BehalfGrid}); err != nil {
		t.Fatal(err)
	}
	_, page = get(t, staff, gs.URL+path)
	mustContain(t, page, `<option value="grid" selected>社区网格员</option>`, `aria-describedby="ci-behalf-hint"`,
		`id="ci-behalf-hint">号票 `+tk.Number+` 记为帮办代办（社区网格员）`, `"behalf":"grid"`)
	if status, _ := get(t, staff, gs.URL+"/halls/demo/cases/new?ticket=nope"); status != 404 {
		t.Errorf("unknown ticket: %d", status)
	}
	if err := gs.Engine.SaveHall(context.Background(), &civiq.Hall{ID: "h2", Name: "二号大厅", Timezone: "Asia/Shanghai", Policy: civiq.PolicyFIFO, MaxCalls: 3}); err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := gs.user(t, "h2clerk", civiq.RoleStaff, "h2")
	if status, _ := get(t, elsewhere, gs.URL+path); status != 403 {
		t.Errorf("staff of another hall: %d; want 403", status)
	}

	// Open a case through the engine, then follow it as the citizen.
	ctx := civiq.WithActor(context.Background(), civiq.Principal{User: &civiq.User{Username: "clerk", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}})
	c, err := gs.Engine.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card",
		Applicant: civiq.Applicant{Name: "王小明", Phone: "13912345678"}, Materials: []civiq.CaseMaterialInput{{ID: "m1"}}})
	if err != nil || c.Status != civiq.CaseCorrection {
		t.Fatalf("open: %+v %v", c, err)
	}
	status, page = get(t, nil, gs.URL+"/c/"+c.Number)
	if status != 200 || !strings.Contains(page, `value="`+c.Number+`"`) || !strings.Contains(page, `name="last4"`) {
		t.Errorf("the lookup form: %d", status)
	}
	post := func(number, last4 string) (int, string) {
		res, err := http.PostForm(gs.URL+"/c", url.Values{"number": {number}, "last4": {last4}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, page = post(c.Number, "5678")
	if status != 200 {
		t.Fatalf("progress: %d", status)
	}
	mustContain(t, page, "待补正", "社会保障卡申领登记表", "王**", c.Number, "需要补正的材料")
	if strings.Contains(page, "王小明") || strings.Contains(page, "13912345678") {
		t.Error("the progress page shows personal data in clear")
	}
	// In English the guide and the hall have their English names.
	enRes, err := http.PostForm(gs.URL+"/c?lang=en", url.Values{"number": {c.Number}, "last4": {"5678"}})
	if err != nil {
		t.Fatal(err)
	}
	enPage, _ := io.ReadAll(enRes.Body)
	enRes.Body.Close()
	mustContain(t, string(enPage), `<html lang="en">`, "Applying for a social security card", "Demo Service Hall",
		"Social security card application form") // the missing material in English
	if strings.Contains(string(enPage), "社会保障卡申领登记表") {
		t.Error("the English progress page names the missing material in Chinese")
	}
	if status, page = post(c.Number, "0000"); status != 404 || !strings.Contains(page, "没有找到该办件") {
		t.Errorf("wrong digits: %d", status)
	}
	if status, _ = post("x", "0000"); status != 400 {
		t.Errorf("bad number: %d", status)
	}
	res, err := http.Get(gs.URL + "/c/" + c.Number + "/qr.svg")
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("QR: %v %v", res, err)
	}
	res.Body.Close()
}
