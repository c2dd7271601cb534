package api_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
)

type receiptCheck struct {
	Valid   bool   `json:"valid"`
	Reason  string `json:"reason"`
	Payload string `json:"payload"`
	Receipt *struct {
		Kind      string `json:"kind"`
		Code      string `json:"code"`
		Number    string `json:"number"`
		Hall      string `json:"hall"`
		Date      string `json:"date"`
		Applicant string `json:"applicant"`
		KeyID     string `json:"kid"`
	} `json:"receipt"`
	HallName string `json:"hall_name"`
}

// TestReceiptsAPI: an accepted case answers its receipt_url; the receipt
// verifies by its payload and by its code, by anyone; a changed payload
// does not; the keys are public at both addresses.
func TestReceiptsAPI(t *testing.T) {
	keys, err := civiq.NewReceiptKeys(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ts := withGuides(t)
	ts.Engine.Receipts = keys
	staff := ts.createUser(t, "staff1", "staff", "demo")
	tk := ts.issue(t, "", "social", "channel", "remote")
	ts.callUntil(t, "1", tk.ID)
	body := map[string]any{"guide_id": "demo-s-card", "applicant": map[string]string{"name": "张三", "phone": apiPhone, "id_number": apiID},
		"materials": []map[string]string{{"id": "m1"}, {"id": "m3"}}}
	var opened struct {
		Case struct {
			Number      string `json:"number"`
			ReceiptCode string `json:"receipt_code"`
		} `json:"case"`
		ReceiptURL string `json:"receipt_url"`
	}
	ts.do(t, "POST", "/api/v1/tickets/"+tk.ID+"/cases", staff, body).want(t, 201).json(t, &opened)
	if opened.ReceiptURL != api.ReceiptPath(opened.Case.ReceiptCode) || len(opened.Case.ReceiptCode) != civiq.ReceiptCodeLength {
		t.Fatalf("receipt_url %q, code %q", opened.ReceiptURL, opened.Case.ReceiptCode)
	}
	var staffView struct {
		ReceiptURL string `json:"receipt_url"`
	}
	ts.do(t, "GET", "/api/v1/cases/"+opened.Case.Number, staff, nil).want(t, 200).json(t, &staffView)
	if staffView.ReceiptURL != opened.ReceiptURL {
		t.Errorf("the staff view's receipt_url %q", staffView.ReceiptURL)
	}

	var byCode receiptCheck
	ts.do(t, "GET", "/api/v1/receipts/verify?code="+strings.ToLower(opened.Case.ReceiptCode), "", nil).want(t, 200).json(t, &byCode)
	if !byCode.Valid || byCode.Payload == "" || byCode.Receipt == nil || byCode.Receipt.Number != opened.Case.Number {
		t.Fatalf("by code: %+v", byCode)
	}
	var check receiptCheck
	r := ts.do(t, "GET", "/api/v1/receipts/verify?payload="+url.QueryEscape(byCode.Payload), "", nil).want(t, 200)
	r.json(t, &check)
	rc := check.Receipt
	if !check.Valid || rc == nil || rc.Kind != "accepted" || rc.Hall != "demo" || rc.Applicant != "张*" || check.HallName == "" ||
		rc.KeyID != keys.Public()[0].ID {
		t.Errorf("verify: %+v %+v", check, rc)
	}
	for _, pii := range []string{apiPhone, apiID, "张三", "5678"} {
		if strings.Contains(string(r.Body), pii) {
			t.Errorf("the answer holds %s: %s", pii, r.Body)
		}
	}
	p := []byte(byCode.Payload)
	p[len(p)/3] ^= 1
	var bad receiptCheck
	ts.do(t, "GET", "/api/v1/receipts/verify?payload="+url.QueryEscape(string(p)), "", nil).want(t, 200).json(t, &bad)
	if bad.Valid || bad.Reason == "" || bad.Receipt != nil {
		t.Errorf("a changed payload: %+v", bad)
	}
	ts.do(t, "GET", "/api/v1/receipts/verify", "", nil).wantErr(t, 400, "invalid", "payload")
	ts.do(t, "GET", "/api/v1/receipts/verify?code=ABCDEFGHJKMN", "", nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "GET", "/api/v1/receipts/verify?code=x", "", nil).wantErr(t, 400, "invalid", "code")
	ts.do(t, "GET", "/api/v1/receipts/verify?payload="+strings.Repeat("A", 3000), "", nil).wantErr(t, 400, "invalid", "payload")

	for _, path := range []string{"/api/v1/receipts/keys", "/.well-known/civiq-receipt-keys"} {
		var ks struct {
			Keys []civiq.ReceiptPublicKey `json:"keys"`
		}
		ts.do(t, "GET", path, "", nil).want(t, 200).json(t, &ks)
		if len(ks.Keys) != 1 || ks.Keys[0] != keys.Public()[0] || ks.Keys[0].Algorithm != "Ed25519" || !ks.Keys[0].Current {
			t.Errorf("%s: %+v", path, ks)
		}
	}
}
