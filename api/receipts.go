package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// Signed receipts of cases (receipt.go): anyone may check a receipt and
// read the public keys that verify them.
func (s *Server) receiptRoutes() {
	s.handle("GET /api/v1/receipts/verify", anyone, s.verifyReceipt)
	s.handle("GET /api/v1/receipts/keys", anyone, s.receiptKeys)
	s.handle("GET /.well-known/civiq-receipt-keys", anyone, s.receiptKeys)
}

// ReceiptPath is where a receipt's printable page is, by its code.
func ReceiptPath(code string) string { return "/receipts/" + code }

// verifyReceipt answers whether ?payload= (the QR code's) or ?code= (the
// short code printed) is a genuine, unchanged receipt, and what it states.
func (s *Server) verifyReceipt(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	var check *civiq.ReceiptCheck
	var err error
	if code := q.Get("code"); code != "" && q.Get("payload") == "" {
		check, err = s.Engine.ReceiptByCode(r.Context(), code)
	} else {
		check, err = s.Engine.VerifyReceipt(r.Context(), q.Get("payload"))
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, check)
	return nil
}

// receiptKeys lists the public keys, oldest first; the current one signs.
func (s *Server) receiptKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	keys, err := s.Engine.ReceiptKeyList()
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}
