package api

import (
	"net/http"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
	"github.com/civiq/civiq/xlsxfile"
)

// reportRoutes adds the staff and service reports of a hall's period
// (hallreport.go), as JSON or as files.
func (s *Server) reportRoutes() {
	s.handle("GET /api/v1/halls/{hall}/reports/staff", need(civiq.PermDashboard), s.staffReport)
	s.handle("GET /api/v1/halls/{hall}/reports/services", need(civiq.PermDashboard), s.serviceReport)
}

// exportFormat reads ?format=: json (the default), csv or xlsx.
func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return "json", nil
	case "csv", "xlsx":
		return f, nil
	}
	return "", civiq.FieldErrorf("format", "format must be json, csv or xlsx")
}

// writeExport writes a report's rows as a file by civiq's one convention:
// a CSV file (csvfile) or a workbook with one sheet (xlsxfile), the header
// first, named name.csv or name.xlsx for download.
func writeExport(w http.ResponseWriter, format, sheet, name string, header []string, rows func(write func([]string))) error {
	switch format {
	case "csv":
		w.Header().Set("Content-Type", csvfile.ContentType)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		cw := csvfile.NewWriter(w)
		cw.Write(header)
		rows(func(rec []string) { cw.Write(rec) })
		return cw.Flush()
	case "xlsx":
		xw, err := xlsxfile.NewWriter(sheet)
		if err != nil {
			return err
		}
		xw.Write(header)
		rows(func(rec []string) { xw.Write(rec) })
		w.Header().Set("Content-Type", xlsxfile.ContentType)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, err = xw.WriteTo(w)
		return err
	}
	return civiq.FieldErrorf("format", "format must be json, csv or xlsx")
}

// report answers a report of ?from=&to= by ?by= read by get: as JSON,
// or as a file of its header and rows (writeExport) named kind-hall-from-to.
func report[R any](w http.ResponseWriter, r *http.Request, kind, sheet string, header []string,
	get func(hall, from, to, by string) (*R, error), name func(*R) string, rows func(*R, func([]string))) error {
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	rep, err := get(r.PathValue("hall"), q.Get("from"), q.Get("to"), q.Get("by"))
	if err != nil {
		return err
	}
	if format == "json" {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	return writeExport(w, format, sheet, kind+"-"+name(rep), header, func(write func([]string)) { rows(rep, write) })
}

// staffReport answers the staff report (range, day, week, month).
func (s *Server) staffReport(w http.ResponseWriter, r *http.Request, c *call) error {
	get := func(hall, from, to, by string) (*civiq.StaffReport, error) {
		return s.Engine.StaffReport(r.Context(), hall, from, to, by)
	}
	return report(w, r, "staff", "人员窗口", civiq.StaffReportHeaders(), get,
		func(rep *civiq.StaffReport) string { return rep.HallID + "-" + rep.From + "-" + rep.To },
		func(rep *civiq.StaffReport, write func([]string)) {
			for i := range rep.Rows {
				write(rep.Rows[i].Strings())
			}
		})
}

// serviceReport answers the service report (range, day, week, month,
// hour), its total last in the files.
func (s *Server) serviceReport(w http.ResponseWriter, r *http.Request, c *call) error {
	get := func(hall, from, to, by string) (*civiq.ServiceReport, error) {
		return s.Engine.ServiceReport(r.Context(), hall, from, to, by)
	}
	return report(w, r, "services", "事项等候", civiq.ServiceReportHeaders(), get,
		func(rep *civiq.ServiceReport) string { return rep.HallID + "-" + rep.From + "-" + rep.To },
		func(rep *civiq.ServiceReport, write func([]string)) {
			for i := range rep.Rows {
				write(rep.Rows[i].Strings())
			}
			write(rep.Total.Strings())
		})
}
