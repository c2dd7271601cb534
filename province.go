package civiq

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The province's own rating page (好差评): in provinces whose rule is that
// the rating device shows the province's page, a hall sets a URL template
// (RatingSettings.ProvincePageURL). The rater then opens that page, filled
// for the ticket its counter just finished, instead of civiq's faces; the
// rating is recorded only from the platform's callback (ProvinceCallback,
// authenticated by the hall's key), or not at all, and the daily
// reconciliation says which.

// ProvincePlaceholders are what a page's URL template may name, in
// braces: the record's fields known before the rating, the ticket's
// number, and {return_url}, which the rating device fills with its own
// address so the province's page can send it back.
var ProvincePlaceholders = []string{"case_number", "item_code", "item_name", "department", "department_code", "region_code",
	"hall_id", "hall_name", "window", "staff_id", "staff_name", "ticket_number", "done_at", "return_url"}

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// checkProvincePage checks a page's URL template and the callback key.
func checkProvincePage(s *RatingSettings) error {
	if s.ProvincePageURL == "" {
		return nil
	}
	for _, m := range placeholder.FindAllStringSubmatch(s.ProvincePageURL, -1) {
		if !contains(ProvincePlaceholders, m[1]) {
			return FieldErrorf("province_page_url", "{%s} is not a field: the fields are %s", m[1], strings.Join(ProvincePlaceholders, ", "))
		}
	}
	u, err := url.Parse(placeholder.ReplaceAllString(s.ProvincePageURL, "x"))
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return FieldErrorf("province_page_url", "province_page_url is an http or https URL, with fields in braces")
	case len(s.ProvincePageURL) > 2000:
		return FieldErrorf("province_page_url", "province_page_url is at most 2000 characters")
	}
	if k := s.ProvinceCallbackKey; len(k) < 16 || len(k) > 512 || strings.ContainsAny(k, " \r\n\t") {
		return FieldErrorf("province_callback_key", "province_callback_key is required with a page: 16 to 512 characters without spaces")
	}
	return nil
}

// ticketRecord is the part of a record known from the ticket alone, with
// the hall's zone and rating settings, and the case's applicant (sealed).
func (e *Engine) ticketRecord(tx Tx, hallID, ticketID, serviceID, counterID string, staffID int64) (HaochapingRecord, *time.Location, *RatingSettings, string, error) {
	h, err := tx.Hall(hallID)
	if err != nil {
		return nil, nil, nil, "", err
	}
	loc, err := e.location(tx, hallID)
	if err != nil {
		return nil, nil, nil, "", err
	}
	settings, err := tx.RatingSettings(hallID)
	if err != nil {
		return nil, nil, nil, "", err
	}
	rec := HaochapingRecord{"case_number": ticketID, "item_code": "", "item_name": "", "department": h.Name, "department_code": "",
		"region_code": settings.RegionCode, "hall_id": h.ID, "hall_name": h.Name, "window": counterID, "staff_id": "", "staff_name": ""}
	if svc, err := tx.Service(hallID, serviceID); err == nil {
		rec["item_name"] = svc.Name
	} else if ErrorCode(err) != ENotFound {
		return nil, nil, nil, "", err
	}
	if staffID != 0 {
		rec["staff_id"] = strconv.FormatInt(staffID, 10)
		if u, err := tx.UserByID(staffID); err == nil {
			rec["staff_name"] = u.Username
		} else if ErrorCode(err) != ENotFound {
			return nil, nil, nil, "", err
		}
	}
	cases, err := tx.Cases(CaseQuery{HallID: hallID, TicketID: ticketID, Limit: 1})
	if err != nil {
		return nil, nil, nil, "", err
	}
	var applicant string
	if len(cases) > 0 {
		c := cases[0]
		rec["case_number"] = c.Number
		applicant = c.Applicant.Name
		if g, err := tx.Guide(c.GuideID); err == nil {
			rec["item_code"], rec["item_name"] = g.ImplCode, g.Name
			if g.Authority != "" {
				rec["department"], rec["department_code"] = g.Authority, g.AuthorityCode
			}
		} else if ErrorCode(err) != ENotFound {
			return nil, nil, nil, "", err
		}
	}
	return rec, loc, settings, applicant, nil
}

// ProvincePage is the province's rating page for a ticket a counter just
// finished: what the counter's rater opens instead of the faces. It is
// not_found when the hall has no page; {return_url} is left for the device
// to fill.
func (e *Engine) ProvincePage(ctx context.Context, p Principal, ticketID string) (string, error) {
	var out string
	err := e.store.View(ctx, func(tx Tx) error {
		t, servedBy, rated, err := tx.TicketToRate(ticketID)
		if err != nil {
			return err
		}
		if !p.Can(PermRate, t.HallID, t.CounterID) {
			return Errorf(EForbidden, "only the rater of the ticket's counter opens its rating page")
		}
		if t.Status != StatusDone || rated {
			return Errorf(EConflict, "only a done ticket not rated yet is rated")
		}
		rec, loc, settings, _, err := e.ticketRecord(tx, t.HallID, t.ID, t.ServiceID, t.CounterID, servedBy)
		if err != nil {
			return err
		}
		if settings.ProvincePageURL == "" {
			return Errorf(ENotFound, "hall %s rates on civiq's own page", t.HallID)
		}
		rec["ticket_number"] = t.Number
		if t.DoneAt != nil {
			rec["done_at"] = t.DoneAt.In(loc).Format(RecordTime)
		}
		out = placeholder.ReplaceAllStringFunc(settings.ProvincePageURL, func(m string) string {
			name := m[1 : len(m)-1]
			if name == "return_url" {
				return m
			}
			v, _ := rec[name].(string)
			return url.QueryEscape(v)
		})
		return nil
	})
	return out, err
}

// ProvinceRating is the platform's callback: the rating given on its page.
type ProvinceRating struct {
	// CaseNumber names the ticket as the page's URL did: a case's number,
	// or the ticket's id.
	CaseNumber string   `json:"case_number"`
	Level      int      `json:"level"` // 1..5, 5 非常满意
	Reasons    []string `json:"reasons"`
	Comment    string   `json:"comment"`
}

// ProvinceCallback records a rating the platform reports from its page for
// a hall: authenticated by the hex HMAC-SHA256 of the body under the
// hall's callback key (signature), or that key as a bearer token. The
// rating goes through Rate with channel "province" and its rules (once, a
// done ticket, a reason with a bad one, within 7 days).
func (e *Engine) ProvinceCallback(ctx context.Context, hallID string, body []byte, signature, bearer string) (*Rating, error) {
	settings, err := e.HallRatingSettings(ctx, hallID)
	if err != nil {
		return nil, err
	}
	key := settings.ProvinceCallbackKey
	if settings.ProvincePageURL == "" || key == "" {
		return nil, Errorf(ENotFound, "hall %s takes no ratings from the province's page", hallID)
	}
	ok := bearer != "" && subtle.ConstantTimeCompare([]byte(bearer), []byte(key)) == 1
	if sig, err := hex.DecodeString(signature); err == nil && signature != "" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		ok = ok || hmac.Equal(sig, m.Sum(nil))
	}
	if !ok {
		return nil, Errorf(EUnauthorized, "the callback's signature or token does not match the hall's key")
	}
	var in ProvinceRating
	if err := json.Unmarshal(body, &in); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
			return nil, FieldErrorf(te.Field, "%s must be a JSON %s", te.Field, JSONKindName(te.Type.Kind().String()))
		}
		return nil, Errorf(EInvalid, "the callback's body is not the JSON of a rating")
	}
	if strings.TrimSpace(in.CaseNumber) == "" {
		return nil, FieldErrorf("case_number", "case_number is required")
	}
	ticketID := in.CaseNumber
	err = e.store.View(ctx, func(tx Tx) error {
		if c, err := tx.Case(in.CaseNumber); err == nil && c.HallID == hallID {
			ticketID = c.TicketID
			return nil
		} else if err != nil && ErrorCode(err) != ENotFound {
			return err
		}
		t, err := tx.Ticket(in.CaseNumber)
		if err != nil || t.HallID != hallID {
			if err != nil && ErrorCode(err) != ENotFound {
				return err
			}
			return FieldErrorf("case_number", "case_number %q is no case or ticket of hall %s", in.CaseNumber, hallID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if in.Level < 1 || in.Level > 5 {
		return nil, FieldErrorf("level", "level must be 1..5")
	}
	return e.Rate(ctx, RateRequest{TicketID: ticketID, Score: in.Level, Reasons: in.Reasons, Comment: in.Comment,
		Channel: RatingProvince, byPlatform: true})
}

// provincePageDay counts, when the hall's raters open the province's page,
// the day's ratings from its callback and the day's served tickets never
// rated; nil when they do not.
func (e *Engine) provincePageDay(tx Tx, hallID, date string, recs []HaochapingRecord) (*ProvincePageDay, error) {
	settings, err := tx.RatingSettings(hallID)
	if err != nil || settings.ProvincePageURL == "" {
		return nil, err
	}
	loc, err := e.location(tx, hallID)
	if err != nil {
		return nil, err
	}
	from, to, err := haochapingDay(date, loc)
	if err != nil {
		return nil, err
	}
	d := &ProvincePageDay{}
	for _, r := range recs {
		if r["record_type"] == RecordRating && r["channel"] == RatingProvince {
			d.RatedByCallback++
		}
	}
	d.NotRated, err = tx.CountUnratedDone(hallID, []string{ChannelKiosk, ChannelRemote, ChannelAppointment, ChannelStaff}, from, to)
	if err != nil {
		return nil, err
	}
	return d, nil
}
