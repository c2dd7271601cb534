package civiq

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// 好差评: every served ticket may be rated once (一次一评) on five levels,
// 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意. A rating of 1 or 2 is a
// bad rating (差评): it must say why, and it opens a follow-up case.

// Rating channels: where a rating comes from.
const (
	RatingRater   = "rater"   // the rating device at the counter
	RatingPhone   = "phone"   // the citizen's phone page (anyone holding the ticket id)
	RatingWeb     = "web"     // a signed-in user on the web
	RatingDefault = "default" // given by the hall's rule for phone tickets left unrated
	// RatingProvince: given on the province's own rating page, recorded
	// from the platform's callback (province.go).
	RatingProvince = "province"
)

// ValidRatingChannel reports whether c is a channel a rating can be given
// through (RatingDefault is given by civiq only).
func ValidRatingChannel(c string) bool { return c == RatingRater || c == RatingPhone || c == RatingWeb }

// Score levels.
const (
	ScoreVeryDissatisfied   = 1 // 非常不满意
	ScoreDissatisfied       = 2 // 不满意
	ScoreBasicallySatisfied = 3 // 基本满意
	ScoreSatisfied          = 4 // 满意
	ScoreVerySatisfied      = 5 // 非常满意
)

// BadScore reports whether a score is a bad rating (差评), which opens a
// follow-up.
func BadScore(score int) bool { return score == ScoreVeryDissatisfied || score == ScoreDissatisfied }

// PhoneRatingWindow is how long after done a ticket can be rated from a
// phone or the web.
const PhoneRatingWindow = 7 * 24 * time.Hour

// Limits of a rating's text.
const (
	maxComment = 500
	maxReasons = 10
	maxReason  = 50
)

// SubScores are the window indicators rated on site, each 1..5 or 0 when
// not given.
type SubScores struct {
	Efficiency int `json:"efficiency,omitempty"` // 服务效率
	Level      int `json:"level,omitempty"`      // 服务水平
	Attitude   int `json:"attitude,omitempty"`   // 服务态度
}

func (s *SubScores) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"efficiency", s.Efficiency}, {"level", s.Level}, {"attitude", s.Attitude}} {
		if f.v < 0 || f.v > 5 {
			return FieldErrorf("sub_scores."+f.name, "sub_scores.%s must be 1..5", f.name)
		}
	}
	return nil
}

func (s *SubScores) empty() bool { return s == nil || *s == SubScores{} }

// Rating is a citizen's rating of one served ticket (好差评), linked to the
// ticket, its hall, service and counter, and the staff member who served
// it.
type Rating struct {
	ID        int64  `json:"id"`
	TicketID  string `json:"ticket_id"`
	HallID    string `json:"hall_id"`
	ServiceID string `json:"service_id"`
	CounterID string `json:"counter_id"`
	StaffID   int64  `json:"-"` // the user who served the ticket, 0 if none recorded
	Score     int    `json:"score"`
	// Reasons are codes of the reason list (reasons.go); ReasonText are
	// reasons in the citizen's own words, not on the list.
	Reasons    []string `json:"reasons"`
	ReasonText []string `json:"reason_text,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	Channel    string   `json:"channel"`
	// ContactPhone is the citizen's number for the follow-up's call back,
	// kept only with a bad rating, sealed at rest when the engine has a
	// Sealer. Every view but the follow-up's masks it (MaskPhone).
	ContactPhone string     `json:"contact_phone,omitempty"`
	SubScores    *SubScores `json:"sub_scores,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// RatingTx is what a store keeps of ratings and their settings
// (sqlstore/ratings.go; report.go reads them too).
type RatingTx interface {
	InsertRating(r *Rating) error
	RatingByTicket(ticketID string) (*Rating, error)
	// Ratings returns a hall's ratings given in [from, to), oldest first.
	Ratings(hallID string, from, to time.Time) ([]Rating, error)
	// RatingPhonesInClear returns up to limit contact phones, by rating
	// id, that do not start with sealedPrefix; SetRatingPhone replaces
	// one (SealRatingPhones).
	RatingPhonesInClear(sealedPrefix string, limit int) (map[int64]string, error)
	SetRatingPhone(ratingID int64, phone string) error
	// SetServedBy records the user serving a ticket; ServedBy returns it,
	// or 0 when no user is recorded.
	SetServedBy(ticketID string, userID int64) error
	ServedBy(ticketID string) (int64, error)
	// TicketToRate reads a ticket with what rating it needs to know, in
	// one go: who served it (0 when nobody is recorded) and whether it
	// has been rated.
	TicketToRate(ticketID string) (t *Ticket, servedBy int64, rated bool, err error)
	// LastDone returns the ticket a counter finished last (not_found if
	// none).
	LastDone(hallID, counterID string) (*Ticket, error)
	// UnratedRemoteDone returns up to limit remote tickets done in
	// [doneFrom, doneTo) and never rated, oldest first (the default
	// rating's).
	UnratedRemoteDone(hallID string, doneFrom, doneTo time.Time, limit int) ([]Ticket, error)
	// CountUnratedDone counts the tickets of the channels done in
	// [doneFrom, doneTo) and never rated.
	CountUnratedDone(hallID string, channels []string, doneFrom, doneTo time.Time) (int, error)
	RatingSettings(hallID string) (*RatingSettings, error) // the defaults when never set
	PutRatingSettings(hallID string, s *RatingSettings) error
}

// Masked returns a copy of r with the contact phone masked, for every view
// but the follow-up's.
func (r Rating) Masked() Rating {
	r.ContactPhone = MaskPhone(r.ContactPhone)
	return r
}

var mobilePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalizePhone checks a mainland mobile number (1[3-9] and 9 digits),
// allowing spaces, dashes and a +86 prefix, and returns its 11 digits.
func NormalizePhone(s string) (string, error) {
	p := phoneSpaces.Replace(strings.TrimSpace(s))
	p = strings.TrimPrefix(p, "+86")
	if !mobilePattern.MatchString(p) {
		return "", FieldErrorf("contact_phone", "contact_phone must be a mainland mobile number, 11 digits starting 13-19")
	}
	return p, nil
}

// phoneSpaces takes the spaces and dashes out of a number: made once (one
// made at each call built its tables each time, 6 KB an opt-in).
var phoneSpaces = strings.NewReplacer(" ", "", "-", "")

// MaskPhone shows a phone number as 138****5678.
func MaskPhone(p string) string {
	if p == "" {
		return ""
	}
	if len(p) != 11 {
		return "****"
	}
	return p[:3] + "****" + p[7:]
}

// RateRequest is a rating of a done ticket.
type RateRequest struct {
	TicketID     string
	Score        int
	Reasons      []string
	Comment      string
	ContactPhone string
	SubScores    *SubScores
	// By is who sends the rating: a rater device, a signed-in user, or
	// nobody (the citizen's phone).
	By Principal
	// Channel is rater, phone or web; empty means the one By implies: a
	// device rates as rater, a user as web, nobody as phone.
	Channel string
	// byPlatform: the province's platform reports the rating given on its
	// page (province.go), with channel "province".
	byPlatform bool
}

// cleanReasons trims the chosen reasons and drops empty and repeated ones.
func cleanReasons(in []string) ([]string, error) {
	out := []string{}
	for _, r := range in {
		r = strings.TrimSpace(r)
		if r == "" || contains(out, r) {
			continue
		}
		if utf8.RuneCountInString(r) > maxReason {
			return nil, FieldErrorf("reasons", "each reason is at most %d characters", maxReason)
		}
		out = append(out, r)
	}
	if len(out) > maxReasons {
		return nil, FieldErrorf("reasons", "at most %d reasons", maxReasons)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Rate records the one rating a done ticket may have. A bad rating (1 or 2)
// needs a reason or a comment and opens a follow-up case. A rater device
// rates only the ticket its counter finished last, within the hall's rater
// window; the phone and the web rate until PhoneRatingWindow after done;
// staff and managers do not rate tickets they served.
func (e *Engine) Rate(ctx context.Context, req RateRequest) (*Rating, error) {
	channel := req.Channel
	if channel == "" {
		switch {
		case req.By.Device != nil:
			channel = RatingRater
		case req.By.User != nil:
			channel = RatingWeb
		default:
			channel = RatingPhone
		}
	}
	if !ValidRatingChannel(channel) && !(req.byPlatform && channel == RatingProvince) {
		return nil, FieldErrorf("channel", "channel must be rater, phone or web")
	}
	if req.Score < 1 || req.Score > 5 {
		return nil, FieldErrorf("score", "score must be 1..5")
	}
	comment := strings.TrimSpace(req.Comment)
	if utf8.RuneCountInString(comment) > maxComment {
		return nil, FieldErrorf("comment", "comment is at most %d characters", maxComment)
	}
	reasons, err := cleanReasons(req.Reasons)
	if err != nil {
		return nil, err
	}
	phone := ""
	if strings.TrimSpace(req.ContactPhone) != "" {
		if phone, err = NormalizePhone(req.ContactPhone); err != nil {
			return nil, err
		}
	}
	var subs *SubScores
	if !req.SubScores.empty() {
		if channel == RatingPhone {
			return nil, FieldErrorf("sub_scores", "sub-scores are given on site only")
		}
		if err := req.SubScores.validate(); err != nil {
			return nil, err
		}
		s := *req.SubScores
		subs = &s
	}
	var out *Rating
	err = e.update(ctx, func(tx Tx) error {
		t, servedBy, rated, err := tx.TicketToRate(req.TicketID)
		if err != nil {
			return err
		}
		if req.By.Device != nil && !req.By.Can(PermRate, t.HallID, t.CounterID) {
			return Errorf(EForbidden, "a rater rates only the tickets of its own counter")
		}
		if t.Status != StatusDone {
			return Errorf(EConflict, "only a done ticket can be rated; this one is %s", t.Status)
		}
		if rated {
			return Errorf(EConflict, "this ticket has already been rated")
		}
		now := e.now()
		settings, err := e.settings.rating(tx, t.HallID, now) // caches.go
		if err != nil {
			return err
		}
		if u := req.By.User; u != nil && servedBy != 0 && u.ID == servedBy && (u.Role == RoleStaff || u.Role == RoleManager) {
			return Errorf(EForbidden, "staff cannot rate a ticket they served")
		}
		switch channel {
		case RatingRater:
			last, err := tx.LastDone(t.HallID, t.CounterID)
			if err != nil && ErrorCode(err) != ENotFound {
				return err
			}
			if last == nil || last.ID != t.ID {
				return Errorf(EConflict, "the rater rates only the ticket its counter has just finished")
			}
			if now.Sub(*t.DoneAt) > settings.RaterWindow() {
				return Errorf(EConflict, "the time to rate at the counter has passed; rate on the phone page")
			}
		default:
			if now.Sub(*t.DoneAt) > PhoneRatingWindow {
				return Errorf(EConflict, "a ticket can be rated until 7 days after it was done")
			}
		}
		codes, texts := settings.sortReasons(reasons)
		if BadScore(req.Score) && len(reasons) == 0 && comment == "" {
			return &Error{Code: EReasonRequired, Field: "reasons", Message: "a rating of 1 or 2 needs a reason or a comment"}
		}
		if !BadScore(req.Score) {
			phone = "" // kept only for the follow-up's call back
		}
		r := &Rating{TicketID: t.ID, HallID: t.HallID, ServiceID: t.ServiceID, CounterID: t.CounterID, StaffID: servedBy,
			Score: req.Score, Reasons: codes, ReasonText: texts, Comment: comment, Channel: channel, ContactPhone: phone, SubScores: subs, CreatedAt: now}
		stored := *r
		stored.ContactPhone = e.seal(phone) // idnumber.go
		if err := tx.InsertRating(&stored); err != nil {
			return err
		}
		r.ID = stored.ID
		ev := &Event{HallID: t.HallID, Type: EventRated, At: now, Ticket: t}
		if BadScore(r.Score) {
			f, err := e.openFollowUp(tx, r, settings)
			if err != nil {
				return err
			}
			ev.FollowUp = f.Ref()
		}
		loc, err := e.location(tx, t.HallID)
		if err != nil {
			return err
		}
		r.CreatedAt = r.CreatedAt.In(loc)
		out = r
		return tx.AppendEvent(ev)
	})
	return out, err
}

// sealBatch bounds how many phones one transaction of SealRatingPhones
// seals.
const sealBatch = 500

// SealRatingPhones seals the contact phones that ratings keep in clear
// (given before phones were sealed); civiq serve runs it at start, once
// the engine has its Sealer. It returns how many it sealed.
func (e *Engine) SealRatingPhones(ctx context.Context) (int, error) {
	if e.Sealer == nil {
		return 0, nil
	}
	total := 0
	for {
		n := 0
		err := e.update(ctx, func(tx Tx) error {
			phones, err := tx.RatingPhonesInClear(sealPrefix, sealBatch)
			if err != nil {
				return err
			}
			for id, p := range phones {
				if err := tx.SetRatingPhone(id, e.Sealer.Seal(p)); err != nil {
					return err
				}
			}
			n = len(phones)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < sealBatch {
			return total, nil
		}
	}
}

// LastDone returns the ticket the counter finished last, id included: what
// its rater device asks to rate once the public stream tells it, by
// number, that the counter finished a ticket. not_found when none.
func (e *Engine) LastDone(ctx context.Context, hallID, counterID string) (*Ticket, error) {
	var out *Ticket
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Counter(hallID, counterID); err != nil {
			return err
		}
		t, err := tx.LastDone(hallID, counterID)
		out = t
		return err
	})
	return out, err
}

// RatingSettings are a hall's rating rules.
type RatingSettings struct {
	// FollowUpWorkingDays is the deadline of a follow-up in working days
	// after the day of the rating: 15 unless the hall says otherwise
	// (localities use 5, 7, 15).
	FollowUpWorkingDays int `json:"followup_working_days"`
	// RaterWindowMinutes is how long after done the counter's rater may
	// rate the ticket: 5 unless the hall says otherwise.
	RaterWindowMinutes int `json:"rater_window_minutes"`
	// DefaultBasicSatisfied makes a phone ticket (channel remote) left
	// unrated 7 days after done count as 基本满意 (score 3, channel
	// "default"), as in Guangdong. Off unless the hall turns it on.
	DefaultBasicSatisfied bool `json:"default_basic_satisfied"`
	// DefaultSince is when DefaultBasicSatisfied was turned on: tickets
	// done before it are never rated by default. civiq sets it.
	DefaultSince *time.Time `json:"default_since,omitempty"`
	// ReasonLabels are the hall's own labels of the bad rating's reasons,
	// by code (reasons.go); the codes stay.
	ReasonLabels map[string]ReasonLabel `json:"reason_labels,omitempty"`
	// RegionCode is the hall's 行政区划代码 (6 or 12 digits), which the
	// 好差评 reports carry (haochaping.go).
	RegionCode string `json:"region_code,omitempty"`
	// ProvincePageURL, when set, makes the counters' raters open the
	// province's rating page (a URL template, province.go) instead of
	// civiq's faces; the rating comes from the platform's callback,
	// authenticated by ProvinceCallbackKey, which is never shown
	// (ProvinceCallbackKeySet says whether there is one).
	ProvincePageURL        string `json:"province_page_url,omitempty"`
	ProvinceCallbackKey    string `json:"province_callback_key,omitempty"`
	ProvinceCallbackKeySet bool   `json:"province_callback_key_set,omitempty"`
}

// Shown is the settings as the API answers them: without the callback
// key, saying whether there is one.
func (s RatingSettings) Shown() RatingSettings {
	s.ProvinceCallbackKeySet, s.ProvinceCallbackKey = s.ProvinceCallbackKey != "", ""
	return s
}

// Defaults of the rating settings.
const (
	DefaultFollowUpWorkingDays = 15
	DefaultRaterWindowMinutes  = 5
)

// Defaults fills the settings not given.
func (s *RatingSettings) Defaults() {
	if s.FollowUpWorkingDays == 0 {
		s.FollowUpWorkingDays = DefaultFollowUpWorkingDays
	}
	if s.RaterWindowMinutes == 0 {
		s.RaterWindowMinutes = DefaultRaterWindowMinutes
	}
}

// Validate checks the settings.
func (s *RatingSettings) Validate() error {
	if s.FollowUpWorkingDays < 1 || s.FollowUpWorkingDays > 60 {
		return FieldErrorf("followup_working_days", "followup_working_days must be 1..60")
	}
	if s.RaterWindowMinutes < 1 || s.RaterWindowMinutes > 60 {
		return FieldErrorf("rater_window_minutes", "rater_window_minutes must be 1..60")
	}
	if err := checkProvincePage(s); err != nil {
		return err
	}
	if s.RegionCode != "" && !regionCode.MatchString(s.RegionCode) {
		return FieldErrorf("region_code", "region_code is a 行政区划代码 of 6 or 12 digits")
	}
	return validateReasonLabels(s.ReasonLabels)
}

// RaterWindow is how long the rater may rate a finished ticket.
func (s *RatingSettings) RaterWindow() time.Duration {
	return time.Duration(s.RaterWindowMinutes) * time.Minute
}

// HallRatingSettings returns a hall's rating settings.
func (e *Engine) HallRatingSettings(ctx context.Context, hallID string) (*RatingSettings, error) {
	var out *RatingSettings
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		var err error
		out, err = tx.RatingSettings(hallID)
		return err
	})
	return out, err
}

// SaveRatingSettings changes a hall's rating settings; cases already open
// keep their deadlines.
func (e *Engine) SaveRatingSettings(ctx context.Context, hallID string, s *RatingSettings) error {
	if err := e.Refuse(ctx, WorkHallSettings, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	s.Defaults()
	s.ProvinceCallbackKeySet = false
	if s.ProvincePageURL != "" && s.ProvinceCallbackKey == "" {
		// The key is never shown: a change that does not give it keeps it.
		old, err := e.HallRatingSettings(ctx, hallID)
		if err != nil {
			return err
		}
		s.ProvinceCallbackKey = old.ProvinceCallbackKey
	}
	if err := s.Validate(); err != nil {
		return err
	}
	s.ReasonLabels = cleanReasonLabels(s.ReasonLabels)
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		old, err := tx.RatingSettings(hallID)
		if err != nil {
			return err
		}
		switch {
		case !s.DefaultBasicSatisfied:
			s.DefaultSince = nil
		case old.DefaultBasicSatisfied && old.DefaultSince != nil:
			s.DefaultSince = old.DefaultSince
		default:
			now := e.now()
			s.DefaultSince = &now
		}
		return tx.PutRatingSettings(hallID, s)
	})
}

// defaultBatch bounds how many tickets one transaction of the default
// rule rates.
const defaultBatch = 200

// ApplyDefaultRatings rates 基本满意 (3, channel "default") the phone
// tickets (channel remote) of halls with DefaultBasicSatisfied that were
// done more than PhoneRatingWindow ago, after the rule was turned on, and
// never rated. It runs with Prune (hourly in civiq serve) and before a
// ratings report is read; hallID "" means every hall. It returns how many
// tickets it rated.
func (e *Engine) ApplyDefaultRatings(ctx context.Context, hallID string) (int, error) {
	var halls []string
	err := e.store.View(ctx, func(tx Tx) error {
		if hallID != "" {
			s, err := tx.RatingSettings(hallID)
			if err == nil && s.DefaultBasicSatisfied {
				halls = append(halls, hallID)
			}
			return err
		}
		hs, err := tx.Halls()
		if err != nil {
			return err
		}
		for _, h := range hs {
			s, err := tx.RatingSettings(h.ID)
			if err != nil {
				return err
			}
			if s.DefaultBasicSatisfied {
				halls = append(halls, h.ID)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, h := range halls {
		if e.Refuse(ctx, WorkRatings, h) != nil {
			continue // a hall with an edge: the edge rates (edge.go)
		}
		for {
			// Look first, so that a report read does not queue a write for
			// nothing.
			found := false
			err := e.store.View(ctx, func(tx Tx) error {
				s, err := tx.RatingSettings(h)
				if err != nil || !s.DefaultBasicSatisfied || s.DefaultSince == nil {
					return err
				}
				ts, err := tx.UnratedRemoteDone(h, *s.DefaultSince, e.now().Add(-PhoneRatingWindow), 1)
				found = len(ts) > 0
				return err
			})
			if err != nil || !found {
				if err != nil {
					return total, err
				}
				break
			}
			n := 0
			err = e.update(ctx, func(tx Tx) error {
				n = 0
				s, err := tx.RatingSettings(h)
				if err != nil || !s.DefaultBasicSatisfied || s.DefaultSince == nil {
					return err
				}
				now := e.now()
				ts, err := tx.UnratedRemoteDone(h, *s.DefaultSince, now.Add(-PhoneRatingWindow), defaultBatch)
				if err != nil {
					return err
				}
				for i := range ts {
					t := &ts[i]
					servedBy, err := tx.ServedBy(t.ID)
					if err != nil {
						return err
					}
					r := &Rating{TicketID: t.ID, HallID: t.HallID, ServiceID: t.ServiceID, CounterID: t.CounterID, StaffID: servedBy,
						Score: ScoreBasicallySatisfied, Reasons: []string{}, Channel: RatingDefault, CreatedAt: now}
					if err := tx.InsertRating(r); err != nil {
						return err
					}
					if err := tx.AppendEvent(&Event{HallID: t.HallID, Type: EventRated, At: now, Ticket: t}); err != nil {
						return err
					}
				}
				n = len(ts)
				return nil
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < defaultBatch {
				break
			}
		}
	}
	return total, nil
}

// actorKey carries, in a request's context, who makes the request.
type actorKey struct{}

// WithActor returns ctx carrying p, who makes the request: the engine
// records which user called, started or finished a ticket (the staff
// member a rating is linked to, and who may not rate it).
func WithActor(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, actorKey{}, p)
}

// servingUser is the signed-in user of ctx, who serves the ticket by
// action (the store records it with the ticket's move), or 0: for an
// action that is not one of serving it, or without a signed-in user.
func servingUser(ctx context.Context, action string) int64 {
	switch action {
	case ActCall, ActRecall, ActStart, ActFinish:
	default:
		return 0
	}
	p, _ := ctx.Value(actorKey{}).(Principal)
	if p.User == nil {
		return 0
	}
	return p.User.ID
}
