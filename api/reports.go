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

// staffReport answers the staff report of ?from=&to= (local days,
// inclusive; this month by default) by ?by= (range, day, week, month).
func (s *Server) staffReport(w http.ResponseWriter, r *http.Request, c *call) error {
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	rep, err := s.Engine.StaffReport(r.Context(), r.PathValue("hall"), q.Get("from"), q.Get("to"), q.Get("by"))
	if err != nil {
		return err
	}
	if format == "json" {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	return writeExport(w, format, "人员窗口", "staff-"+rep.HallID+"-"+rep.From+"-"+rep.To, civiq.StaffReportHeaders(), func(write func([]string)) {
		for i := range rep.Rows {
			write(rep.Rows[i].Strings())
		}
	})
}

// serviceReport answers the service report of ?from=&to= by ?by= (range,
// day, week, month, hour).
func (s *Server) serviceReport(w http.ResponseWriter, r *http.Request, c *call) error {
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	rep, err := s.Engine.ServiceReport(r.Context(), r.PathValue("hall"), q.Get("from"), q.Get("to"), q.Get("by"))
	if err != nil {
		return err
	}
	if format == "json" {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	return writeExport(w, format, "事项等候", "services-"+rep.HallID+"-"+rep.From+"-"+rep.To, civiq.ServiceReportHeaders(), func(write func([]string)) {
		for i := range rep.Rows {
			write(rep.Rows[i].Strings())
		}
		write(rep.Total.Strings())
	})
}
