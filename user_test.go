package civiq

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// cheapHash is an argon2id PHC string with small parameters, to test
// CheckPassword without paying for HashPassword's.
func cheapHash(password string, m, t uint32, p uint8) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p, enc.EncodeToString(salt), enc.EncodeToString(key))
}

func TestHashPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	h := HashPassword(pw)
	if want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", argonMemory, argonTime, argonThreads); !strings.HasPrefix(h, want) {
		t.Errorf("HashPassword = %q, want the prefix %q", h, want)
	}
	if strings.Contains(h, pw) {
		t.Error("the hash contains the password")
	}
	if !CheckPassword(h, pw) {
		t.Error("CheckPassword rejects the right password")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", pw + " "} {
		if CheckPassword(h, wrong) {
			t.Errorf("CheckPassword accepts the wrong password %q", wrong)
		}
	}
	if h2 := HashPassword(pw); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	} else if !CheckPassword(h2, pw) {
		t.Error("CheckPassword rejects the second hash")
	}
}

func TestHashPasswordUnicode(t *testing.T) {
	const pw = "政务服务大厅密码🔑"
	h := HashPassword(pw)
	if !CheckPassword(h, pw) || CheckPassword(h, "政务服务大厅密码") {
		t.Error("unicode password round trip failed")
	}
}

func TestCheckPasswordOtherParameters(t *testing.T) {
	// A hash made with other (valid) parameters still checks: the
	// parameters are read from the hash.
	h := cheapHash("pw", 64, 1, 2)
	if !CheckPassword(h, "pw") {
		t.Errorf("CheckPassword rejects %q", h)
	}
	if CheckPassword(h, "pW") {
		t.Errorf("CheckPassword accepts a wrong password for %q", h)
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good := cheapHash("pw", 64, 1, 1)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=64,t=1,p=1, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"plain text", "pw"},
		{"only dollars", "$$$$$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"upper-case algorithm", with(1, "ARGON2ID")},
		{"too few parts", strings.Join(parts[:5], "$")},
		{"too many parts", good + "$extra"},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
		{"parameters missing", with(3, "")},
		{"parameters garbled", with(3, "m=abc,t=1,p=1")},
		{"parameters reordered", with(3, "t=1,m=64,p=1")},
		{"no rounds", with(3, "m=64,t=0,p=1")},
		{"too many rounds", with(3, "m=64,t=11,p=1")},
		{"no threads", with(3, "m=64,t=1,p=0")},
		{"threads overflow", with(3, "m=64,t=1,p=256")},
		{"negative memory", with(3, "m=-64,t=1,p=1")},
		{"memory too large", with(3, "m=1048577,t=1,p=1")},
		{"memory overflow", with(3, "m=99999999999,t=1,p=1")},
		{"zero memory", with(3, "m=0,t=1,p=1")},
		{"salt not base64", with(4, "!!!!")},
		{"salt padded", with(4, parts[4]+"==")},
		{"key not base64", with(5, "%%%%")},
		{"empty key", with(5, "")},
		{"short key", with(5, parts[5][:10])},
		{"key of another password", with(5, strings.Split(cheapHash("other", 64, 1, 1), "$")[5])},
		{"other salt", with(4, base64.RawStdEncoding.EncodeToString([]byte("fedcba9876543210")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("CheckPassword(%q) panicked: %v", tt.hash, r)
				}
			}()
			if CheckPassword(tt.hash, "pw") {
				t.Errorf("CheckPassword(%q, pw) = true", tt.hash)
			}
		})
	}
}

// FuzzCheckPassword feeds arbitrary hashes and passwords: CheckPassword
// must never panic.
func FuzzCheckPassword(f *testing.F) {
	f.Add(cheapHash("pw", 64, 1, 1), "pw")
	f.Add(cheapHash("pw", 8, 1, 1), "other")
	f.Add(cheapHash("", 32, 2, 4), "")
	f.Add("$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5", "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5", "pw")
	f.Add("$argon2id$v=19$m=0,t=1,p=255$$a2V5a2V5", "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$", "pw")
	f.Add("$argon2id$$$$$", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, hash, password string) {
		// Keep each run cheap: parameters CheckPassword accepts can still
		// ask for up to 1 GiB; those are not what this fuzz test is about.
		if parts := strings.Split(hash, "$"); len(parts) == 6 {
			var m, rounds uint64
			if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d", &m, &rounds); err == nil && m*rounds > 1<<12 {
				t.Skip("expensive parameters")
			}
		}
		CheckPassword(hash, password)
	})
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"123456789", false},
		{"1234567890", true},
		{strings.Repeat("x", 200), true},
		{strings.Repeat("x", 201), false},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.pw)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePassword(%d characters) = %v, want ok=%v", len(tt.pw), err, tt.ok)
		}
		if err != nil && fieldOf(err) != "password" {
			t.Errorf("ValidatePassword names the field %q, want password", fieldOf(err))
		}
	}
}

// fieldOf returns the field an *Error names, or "" for other errors.
func fieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// validHall returns a hall that passes Validate.
func validHall() *Hall {
	h := &Hall{ID: "xuhui-1", Name: "徐汇区行政服务中心"}
	h.Defaults()
	return h
}

func TestHallDefaults(t *testing.T) {
	h := &Hall{ID: "h1", Name: "Hall"}
	h.Defaults()
	if h.Timezone != "Asia/Shanghai" || h.Policy != PolicyFIFO || h.MaxCalls != 3 || h.LateReturnBehind != 0 ||
		len(h.PriorityGroups) != len(DefaultPriorityGroups) || h.VoiceTemplate == "" {
		t.Fatalf("Defaults gave %+v", h)
	}
	h.PriorityGroups[0] = "changed"
	if DefaultPriorityGroups[0] == "changed" {
		t.Fatal("Defaults shares DefaultPriorityGroups with the hall")
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("a hall with defaults does not validate: %v", err)
	}

	set := &Hall{Timezone: "Asia/Urumqi", Policy: PolicyServiceOrder, MaxCalls: 5, LateReturnBehind: 7, PriorityGroups: []string{}, VoiceTemplate: "x"}
	set.Defaults()
	if set.Timezone != "Asia/Urumqi" || set.Policy != PolicyServiceOrder || set.MaxCalls != 5 || set.LateReturnBehind != 7 ||
		len(set.PriorityGroups) != 0 || set.VoiceTemplate != "x" {
		t.Errorf("Defaults overwrote settings: %+v", set)
	}
}

func TestHallValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Hall)
		field  string // "" when valid
	}{
		{"defaults", func(h *Hall) {}, ""},
		{"id of one character", func(h *Hall) { h.ID = "a" }, ""},
		{"id of 40 characters", func(h *Hall) { h.ID = strings.Repeat("a", 40) }, ""},
		{"id with _ and -", func(h *Hall) { h.ID = "a_b-9" }, ""},
		{"service order", func(h *Hall) { h.Policy = PolicyServiceOrder }, ""},
		{"max calls 1", func(h *Hall) { h.MaxCalls = 1 }, ""},
		{"max calls 10", func(h *Hall) { h.MaxCalls = 10 }, ""},
		{"late return behind 0", func(h *Hall) { h.LateReturnBehind = 0 }, ""},
		{"late return behind 100", func(h *Hall) { h.LateReturnBehind = 100 }, ""},
		{"opening hours", func(h *Hall) { h.OpensAt, h.ClosesAt = "08:30", "17:00" }, ""},
		{"UTC", func(h *Hall) { h.Timezone = "UTC" }, ""},

		{"empty id", func(h *Hall) { h.ID = "" }, "id"},
		{"upper-case id", func(h *Hall) { h.ID = "Hall1" }, "id"},
		{"id starting with -", func(h *Hall) { h.ID = "-h" }, "id"},
		{"id with a space", func(h *Hall) { h.ID = "h 1" }, "id"},
		{"id with a slash", func(h *Hall) { h.ID = "h/1" }, "id"},
		{"id of 41 characters", func(h *Hall) { h.ID = strings.Repeat("a", 41) }, "id"},
		{"empty name", func(h *Hall) { h.Name = "" }, "name"},
		{"unknown timezone", func(h *Hall) { h.Timezone = "Mars/Olympus_Mons" }, "timezone"},
		{"empty timezone", func(h *Hall) { h.Timezone = "" }, "timezone"},
		{"local timezone", func(h *Hall) { h.Timezone = "Local" }, "timezone"},
		{"unknown policy", func(h *Hall) { h.Policy = "lifo" }, "policy"},
		{"empty policy", func(h *Hall) { h.Policy = "" }, "policy"},
		{"max calls 0", func(h *Hall) { h.MaxCalls = 0 }, "max_calls"},
		{"max calls 11", func(h *Hall) { h.MaxCalls = 11 }, "max_calls"},
		{"late return behind -1", func(h *Hall) { h.LateReturnBehind = -1 }, "late_return_behind"},
		{"late return behind 101", func(h *Hall) { h.LateReturnBehind = 101 }, "late_return_behind"},
		{"opening at 25:00", func(h *Hall) { h.OpensAt = "25:00" }, "opens_at"},
		{"opening at 9am", func(h *Hall) { h.OpensAt = "9am" }, "opens_at"},
		{"closing at 12:60", func(h *Hall) { h.ClosesAt = "12:60" }, "closes_at"},
		{"closing with seconds", func(h *Hall) { h.ClosesAt = "17:00:00" }, "closes_at"},
		{"the first wrong field is named", func(h *Hall) { h.Name, h.MaxCalls = "", 0 }, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validHall()
			tt.change(h)
			err := h.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != EInvalid || fieldOf(err) != tt.field {
				t.Fatalf("Validate() = %v (field %q), want invalid %s", err, fieldOf(err), tt.field)
			}
		})
	}
}

func TestServiceValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Service
		want string // the field at fault, "" when valid
	}{
		{"valid", Service{ID: "general", Prefix: "A", Name: "综合受理"}, ""},
		{"two-letter prefix", Service{ID: "estate", Prefix: "BD", Name: "不动产登记"}, ""},
		{"empty id", Service{Prefix: "A", Name: "x"}, "id"},
		{"bad id", Service{ID: "Général", Prefix: "A", Name: "x"}, "id"},
		{"empty prefix", Service{ID: "s", Name: "x"}, "prefix"},
		{"lower-case prefix", Service{ID: "s", Prefix: "a", Name: "x"}, "prefix"},
		{"three-letter prefix", Service{ID: "s", Prefix: "ABC", Name: "x"}, "prefix"},
		{"digit in prefix", Service{ID: "s", Prefix: "A1", Name: "x"}, "prefix"},
		{"non-ASCII prefix", Service{ID: "s", Prefix: "Ä", Name: "x"}, "prefix"},
		{"prefix with newline", Service{ID: "s", Prefix: "A\n", Name: "x"}, "prefix"},
		{"empty name", Service{ID: "s", Prefix: "A"}, "name"},
		{"the first wrong field is named", Service{ID: "", Prefix: "", Name: ""}, "id"},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v", tt.name, err)
			}
			continue
		}
		if ErrorCode(err) != EInvalid || fieldOf(err) != tt.want {
			t.Errorf("%s: Validate() = %v (field %q), want invalid %s", tt.name, err, fieldOf(err), tt.want)
		}
	}
}

func TestHallDay(t *testing.T) {
	shanghai := validHall() // Asia/Shanghai, UTC+8 without summer time
	utc := validHall()
	utc.Timezone = "UTC"
	tests := []struct {
		hall *Hall
		at   string
		want string
	}{
		{shanghai, "2026-11-27T00:00:00Z", "2026-11-27"},
		{shanghai, "2026-11-27T15:59:59Z", "2026-11-27"},
		{shanghai, "2026-11-27T15:59:59.999999999Z", "2026-11-27"},
		{shanghai, "2026-11-27T16:00:00Z", "2026-11-28"},
		{shanghai, "2026-11-27T23:59:59Z", "2026-11-28"},
		{shanghai, "2026-12-31T16:00:00Z", "2027-01-01"},
		{shanghai, "2026-11-28T00:00:00+08:00", "2026-11-28"},
		{shanghai, "2026-11-27T10:59:59-05:00", "2026-11-27"},
		{shanghai, "2026-11-27T11:00:00-05:00", "2026-11-28"},
		{utc, "2026-11-27T15:59:59Z", "2026-11-27"},
		{utc, "2026-11-27T16:00:00Z", "2026-11-27"},
		{utc, "2026-11-28T00:00:00+08:00", "2026-11-27"},
	}
	for _, tt := range tests {
		when, err := time.Parse(time.RFC3339Nano, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.hall.Day(when); got != tt.want {
			t.Errorf("%s hall: Day(%s) = %s, want %s", tt.hall.Timezone, tt.at, got, tt.want)
		}
	}
}

func TestHallLocationFallsBack(t *testing.T) {
	h := validHall()
	h.Timezone = "Mars/Olympus_Mons"
	if got := h.Location().String(); got != "Asia/Shanghai" {
		t.Errorf("Location() of an unknown zone = %s, want Asia/Shanghai", got)
	}
	if got := h.Day(time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)); got != "2026-11-28" {
		t.Errorf("Day() with the fallback zone = %s", got)
	}
}

func TestHasPriorityGroup(t *testing.T) {
	h := validHall()
	if !h.HasPriorityGroup("elderly") || h.HasPriorityGroup("vip") || h.HasPriorityGroup("") {
		t.Error("HasPriorityGroup with the default groups")
	}
	h.PriorityGroups = nil
	if h.HasPriorityGroup("elderly") {
		t.Error("HasPriorityGroup without groups")
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		prefix string
		n      int
		want   string
	}{
		{"A", 1, "A001"},
		{"A", 42, "A042"},
		{"A", 999, "A999"},
		{"A", 1000, "A1000"},
		{"A", 12345, "A12345"},
		{"BD", 7, "BD007"},
		{"", 0, "000"},
		{"C", 9, "C009"},
		{"C", 10, "C010"},
		{"C", 99, "C099"},
		{"C", 100, "C100"},
		{"绿", 5, "绿005"},
		{"A", -7, "A-07"}, // as %03d writes it (never a ticket's)
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.prefix, tt.n); got != tt.want {
			t.Errorf("FormatNumber(%q, %d) = %q, want %q", tt.prefix, tt.n, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "0": true, "hall-1": true, "svc_2": true, strings.Repeat("z", 40): true,
		"": false, "-a": false, "_a": false, "A": false, "a.b": false, "a b": false, "汉": false, strings.Repeat("z", 41): false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCounterSetStatus(t *testing.T) {
	tests := []struct {
		name       string
		from       string // status before, with pause reason "lunch" when paused
		status     string
		reason     string
		wantErr    string // the field at fault, "" when it succeeds
		wantStatus string
		wantReason string
	}{
		{"open a closed counter", CounterClosed, CounterOpen, "", "", CounterOpen, ""},
		{"open clears the reason", CounterPaused, CounterOpen, "", "", CounterOpen, ""},
		{"open ignores a reason", CounterClosed, CounterOpen, "why", "", CounterOpen, ""},
		{"close clears the reason", CounterPaused, CounterClosed, "", "", CounterClosed, ""},
		{"pause with a reason", CounterOpen, CounterPaused, "暂离", "", CounterPaused, "暂离"},
		{"pause of 100 characters", CounterOpen, CounterPaused, strings.Repeat("离", 100), "", CounterPaused, strings.Repeat("离", 100)},
		{"pause again changes the reason", CounterPaused, CounterPaused, "meeting", "", CounterPaused, "meeting"},
		{"pause without a reason", CounterOpen, CounterPaused, "", "reason", CounterOpen, ""},
		{"pause of 101 characters", CounterOpen, CounterPaused, strings.Repeat("离", 101), "reason", CounterOpen, ""},
		{"unknown status", CounterPaused, "busy", "", "status", CounterPaused, "lunch"},
		{"empty status", CounterOpen, "", "", "status", CounterOpen, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Counter{ID: "c1", Status: tt.from, CurrentTicketID: "t1"}
			if tt.from == CounterPaused {
				c.PauseReason = "lunch"
			}
			err := c.SetStatus(tt.status, tt.reason)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("SetStatus(%q, %q) = %v", tt.status, tt.reason, err)
			}
			if tt.wantErr != "" && (ErrorCode(err) != EInvalid || fieldOf(err) != tt.wantErr) {
				t.Fatalf("SetStatus(%q, %q) = %v, want invalid %s", tt.status, tt.reason, err, tt.wantErr)
			}
			if c.Status != tt.wantStatus || c.PauseReason != tt.wantReason {
				t.Errorf("status=%q reason=%q, want %q %q", c.Status, c.PauseReason, tt.wantStatus, tt.wantReason)
			}
			if c.CurrentTicketID != "t1" {
				t.Errorf("SetStatus changed the current ticket to %q", c.CurrentTicketID)
			}
		})
	}
}

func TestCounterServes(t *testing.T) {
	c := &Counter{ServiceIDs: []string{"a", "b"}}
	if !c.Serves("a") || !c.Serves("b") || c.Serves("c") || c.Serves("") {
		t.Error("Serves")
	}
}

func TestErrors(t *testing.T) {
	e := Errorf(ENotFound, "no ticket %s", "t1")
	if ErrorCode(e) != ENotFound || ErrorMessage(e) != "no ticket t1" {
		t.Errorf("Errorf: %v", e)
	}
	wrapped := fmt.Errorf("store: %w", FieldErrorf("name", "name is required"))
	if ErrorCode(wrapped) != EInvalid || ErrorMessage(wrapped) != "name is required" || fieldOf(wrapped) != "name" {
		t.Errorf("a wrapped *Error: code=%s message=%s", ErrorCode(wrapped), ErrorMessage(wrapped))
	}
	plain := errors.New("disk on fire")
	if ErrorCode(plain) != EInternal || ErrorMessage(plain) != "Internal error." {
		t.Errorf("a plain error: code=%s message=%s", ErrorCode(plain), ErrorMessage(plain))
	}
	if ErrorCode(nil) != "" {
		t.Errorf("ErrorCode(nil) = %q", ErrorCode(nil))
	}
	if !IsNotFound(fmt.Errorf("x: %w", e)) || IsNotFound(plain) || IsNotFound(nil) {
		t.Error("IsNotFound")
	}
}
