package web

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/civiq/civiq"
)

func (s *Site) registerResults(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/results", s.resultsPage)
	mux.HandleFunc("GET /halls/{hall}/results/qr.svg", s.resultsQR)
}

// resultsScore is one level of the month's counts.
type resultsScore struct {
	Score int
	Count int
	// Width is the bar's share of the largest count, in percent.
	Width int
}

// resultsCase is a rectified case as the page shows it.
type resultsCase struct {
	civiq.PublicCase
	Service string // the service's name in the page's language
}

// resultsView is what results.html gets.
type resultsView struct {
	Hall      string
	HallName  string
	Month     string // YYYY-MM
	Year      int
	MonthNum  int
	Prev      string // the month before, YYYY-MM
	Next      string // the month after, "" when it is this month or later
	Total     int
	Rate      string // the satisfaction rate as a percentage, "" with no ratings
	Scores    []resultsScore
	Rectified []resultsCase
}

// resultsPage is a hall's public 好差评 results of a month (?month=YYYY-MM,
// this month by default): the counts by level, the satisfaction rate and
// the cases put right with what the hall published of them. It shows no
// personal data, no ticket and no staff member (civiq.PublicMonthRatings).
// It needs no script.
func (s *Site) resultsPage(w http.ResponseWriter, r *http.Request) {
	hall, svcs, ok := s.guideHall(w, r, r.PathValue("hall"))
	if !ok {
		return
	}
	lang := Lang(w, r)
	pub, err := s.Engine.PublicMonthRatings(r.Context(), hall.ID, r.URL.Query().Get("month"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := map[string]string{}
	for i := range svcs {
		names[svcs[i].ID] = svcs[i].NameIn(lang)
	}
	first, _ := time.Parse("2006-01", pub.Month)
	v := resultsView{Hall: hall.ID, HallName: hall.NameIn(lang), Month: pub.Month, Year: first.Year(), MonthNum: int(first.Month()), Prev: first.AddDate(0, -1, 0).Format("2006-01"),
		Total: pub.Total}
	if this := s.Engine.Now().In(hall.Location()).Format("2006-01"); pub.Month < this {
		v.Next = first.AddDate(0, 1, 0).Format("2006-01")
	}
	if pub.Total > 0 {
		v.Rate = civiqPercent(pub.SatisfactionRate)
	}
	most := 0
	for _, n := range pub.ByScore {
		most = max(most, n)
	}
	for score := 5; score >= 1; score-- {
		n := pub.ByScore[strconv.Itoa(score)]
		sc := resultsScore{Score: score, Count: n}
		if most > 0 {
			sc.Width = n * 100 / most
		}
		v.Scores = append(v.Scores, sc)
	}
	for _, c := range pub.Rectified {
		name := names[c.ServiceID]
		if name == "" {
			name = c.ServiceID
		}
		v.Rectified = append(v.Rectified, resultsCase{c, name})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.render(w, r, http.StatusOK, "results", "results.title", v)
}

// civiqPercent shows a share (0.9234) as a percentage with one decimal,
// as the pages' scripts do (civiq.js C.pct): 92.3%.
func civiqPercent(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/10, 'f', -1, 64) + "%"
}

// resultsQR is the QR code of the results page, for screens in the hall.
func (s *Site) resultsQR(w http.ResponseWriter, r *http.Request) {
	hall, _, ok := s.guideHall(w, r, r.PathValue("hall"))
	if !ok {
		return
	}
	serveQR(w, r, siteOrigin(r)+"/halls/"+hall.ID+"/results")
}
