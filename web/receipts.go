package web

import (
	"net/http"
	"net/url"

	"github.com/civiq/civiq"
)

// The signed receipts of cases (receipt.go): the printable receipt, by its
// short code, with the QR code of its verification address; and the
// verification page that says whether a receipt (its QR code's payload or
// its short code) is genuine and unchanged, and what it states.
func (s *Site) registerReceipts(mux *http.ServeMux) {
	mux.HandleFunc("GET /receipts/verify", s.receiptVerify)
	mux.HandleFunc("GET /receipts/{code}", s.receiptPage)
	mux.HandleFunc("GET /receipts/{code}/qr.svg", s.receiptQR)
}

// receiptView is a checked receipt as the two pages show it.
type receiptView struct {
	Check    *civiq.ReceiptCheck
	Doc      string // 受理回执 or 办结通知书
	HallName string
	Code     string // the short code in groups of four
	// VerifyPath checks the payload; VerifyURL is the same, whole, for
	// the QR code and the printed text; CodeURL checks the short code.
	VerifyPath, VerifyURL, CodeURL string
}

func (s *Site) receiptView(r *http.Request, lang string, check *civiq.ReceiptCheck) receiptView {
	v := receiptView{Check: check}
	if check.Receipt == nil {
		return v
	}
	rc := check.Receipt
	v.Doc = s.T(lang, "receipt.doc."+rc.Kind)
	v.HallName = check.HallNameIn(lang)
	if v.HallName == "" {
		v.HallName = rc.HallID
	}
	v.Code = rc.Code[:4] + "-" + rc.Code[4:8] + "-" + rc.Code[8:]
	if check.Payload != "" {
		v.VerifyPath = "/receipts/verify?" + url.Values{"payload": {check.Payload}}.Encode()
		v.VerifyURL = siteOrigin(r) + v.VerifyPath
	}
	v.CodeURL = siteOrigin(r) + "/receipts/verify?code=" + v.Code
	return v
}

// receiptPage is the printable receipt: what it states, its QR code and
// its short code, and a link to its verification.
func (s *Site) receiptPage(w http.ResponseWriter, r *http.Request) {
	lang := Lang(w, r)
	check, err := s.Engine.ReceiptByCode(r.Context(), r.PathValue("code"))
	switch civiq.ErrorCode(err) {
	case "":
	case civiq.ENotFound, civiq.EInvalid:
		s.notFound(w, r)
		return
	default:
		s.fail(w, r, err) // errors.go
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "receipt", "receipt.title", s.receiptView(r, lang, check))
}

// receiptQR draws the QR code of a receipt's verification address, its
// signed payload in it.
func (s *Site) receiptQR(w http.ResponseWriter, r *http.Request) {
	check, err := s.Engine.ReceiptByCode(r.Context(), r.PathValue("code"))
	if err != nil || check.Receipt == nil {
		http.NotFound(w, r)
		return
	}
	serveQR(w, r, s.receiptView(r, Languages[0], check).VerifyURL)
}

// receiptVerify checks ?payload= (from the QR code) or ?code= (typed from
// the paper) and shows the answer; with neither it asks for the code.
func (s *Site) receiptVerify(w http.ResponseWriter, r *http.Request) {
	lang := Lang(w, r)
	q := r.URL.Query()
	payload, code := q.Get("payload"), q.Get("code")
	data := map[string]any{"Code": code}
	status := http.StatusOK
	w.Header().Set("Cache-Control", "no-store")
	var check *civiq.ReceiptCheck
	var err error
	switch {
	case payload != "":
		check, err = s.Engine.VerifyReceipt(r.Context(), payload)
	case code != "":
		check, err = s.Engine.ReceiptByCode(r.Context(), code)
	}
	switch civiq.ErrorCode(err) {
	case "":
	case civiq.EInvalid:
		status, data["Error"] = http.StatusBadRequest, "receipt.bad_input"
	case civiq.ENotFound:
		status, data["Error"] = http.StatusNotFound, "receipt.not_found"
	default:
		s.fail(w, r, err) // errors.go
		return
	}
	if check != nil {
		data["View"] = s.receiptView(r, lang, check)
		if !check.Valid {
			data["Why"] = "receipt.why." + check.Reason
		}
	}
	s.render(w, r, status, "receipt_verify", "receipt.verify_title", data)
}
