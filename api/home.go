package api

import (
	"html/template"
	"net/http"

	"github.com/civiq/civiq"
)

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>civiq 政务服务大厅排队叫号</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.6;color:#1a1a1a}
code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}li{margin:.3rem 0}</style></head>
<body>
<h1>civiq {{.Version}}</h1>
<p>政务服务大厅排队叫号、评价系统正在运行。<br>The civiq service-hall queueing server is running.</p>
<h2>大厅 Halls</h2>
<ul>{{range .Halls}}<li><strong>{{.Name}}</strong> {{.NameEn}} (<code>{{.ID}}</code>, {{.Timezone}}):
<a href="/api/v1/halls/{{.ID}}/status">status</a> ·
<a href="/api/v1/halls/{{.ID}}/services">services</a> ·
<a href="/api/v1/halls/{{.ID}}/counters">counters</a> ·
<a href="/api/v1/halls/{{.ID}}/events">live events</a></li>
{{else}}<li>还没有大厅。No hall yet: start with <code>--demo</code> or create one with <code>PUT /api/v1/halls/{id}</code>.</li>{{end}}</ul>
<h2>API</h2>
<p>JSON API v1 at <code>/api/v1/</code>; sign in with <code>POST /api/v1/auth/login</code>.
Health: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>; metrics: <code>/metrics</code> (loopback).</p>
<p>页面（取号机、叫号器、显示屏、评价器）将在后续版本提供。The hall's web pages come in a later release.</p>
</body></html>`))

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	var halls []civiq.Hall
	if err := s.view(r, func(tx civiq.Tx) (err error) { halls, err = tx.Halls(); return }); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	homePage.Execute(w, map[string]any{"Version": s.Version, "Halls": halls})
}
