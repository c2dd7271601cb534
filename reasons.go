package civiq

import (
	"context"
	"strings"
	"unicode/utf8"
)

// The reasons of a bad rating (差评原因): what the rating device and the
// phone page offer with a 1 or 2, and what is reported to the provincial
// 好差评 platform. A rating keeps them as stable codes, so that a province
// gets a code it understands (through its mapping's code table) whatever
// labels the hall shows; a hall may change the labels (RatingSettings.
// ReasonLabels), never the codes.
//
// GB/T 39734-2020 (政务服务"一次一评""一事一评"工作规范) sorts the bad
// ratings of on-site service under the window indicators 服务效率, 服务水平
// and 服务态度 (its appendix A, 差评评价内容). The text of that appendix was
// not at hand when this list was written, so the list follows the national
// 好差评 practice as the provincial rating pages show it, grouped by those
// three indicators, with 其他 for the rest. Codes are only ever added: a
// code once given keeps its meaning, because ratings and reports hold it.

// Reason groups: the window indicator a reason bears on.
const (
	ReasonGroupEfficiency = "efficiency" // 服务效率
	ReasonGroupLevel      = "level"      // 服务水平
	ReasonGroupAttitude   = "attitude"   // 服务态度
	ReasonGroupOther      = "other"      // 其他
)

// RatingReason is one reason of the list, with the labels a hall shows.
type RatingReason struct {
	Code   string `json:"code"`
	Group  string `json:"group"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
}

// ReasonOther is the code of 其他.
const ReasonOther = "other"

// ratingReasons is the list, in the order offered. aliases are texts that
// earlier clients sent as reasons (the rater page before the codes); a
// rating that sends one of them, or a label, gets the code.
var ratingReasons = []struct {
	RatingReason
	aliases []string
}{
	{RatingReason{"long_wait", ReasonGroupEfficiency, "等候时间过长", "Waited too long"}, []string{"等候时间长"}},
	{RatingReason{"slow_handling", ReasonGroupEfficiency, "办理时间过长", "Took too long to handle"}, nil},
	{RatingReason{"overdue", ReasonGroupEfficiency, "超出承诺时限办结", "Not finished within the promised time"}, nil},
	{RatingReason{"repeat_trips", ReasonGroupEfficiency, "多次跑动", "Had to come back more than once"}, nil},
	{RatingReason{"not_told_once", ReasonGroupLevel, "未一次性告知", "Not told everything needed at once"}, []string{"一次告知不清"}},
	{RatingReason{"unskilled", ReasonGroupLevel, "业务不熟练", "Staff not familiar with the matter"}, nil},
	{RatingReason{"guide_mismatch", ReasonGroupLevel, "办事指南与实际不符", "The service guide did not match what was asked"}, nil},
	{RatingReason{"extra_materials", ReasonGroupLevel, "要求提供不必要的材料", "Asked for documents not needed"}, nil},
	{RatingReason{"poor_facilities", ReasonGroupLevel, "场所设施不便", "Premises or equipment inconvenient"}, nil},
	{RatingReason{"poor_attitude", ReasonGroupAttitude, "服务态度差", "Unfriendly attitude"}, []string{"态度不好"}},
	{RatingReason{"shirking", ReasonGroupAttitude, "推诿扯皮", "Sent from one desk to another"}, nil},
	{RatingReason{"improper_conduct", ReasonGroupAttitude, "吃拿卡要或违规收费", "Asked for favours or improper fees"}, nil},
	{RatingReason{ReasonOther, ReasonGroupOther, "其他", "Other"}, nil},
}

// ReasonCodes returns the codes of the list, in order.
func ReasonCodes() []string {
	out := make([]string, len(ratingReasons))
	for i, r := range ratingReasons {
		out[i] = r.Code
	}
	return out
}

// ValidReasonCode reports whether c is a code of the list.
func ValidReasonCode(c string) bool {
	for _, r := range ratingReasons {
		if r.Code == c {
			return true
		}
	}
	return false
}

// ReasonLabel is a hall's own label of a reason; an empty name keeps the
// list's.
type ReasonLabel struct {
	Name   string `json:"name,omitempty"`
	NameEn string `json:"name_en,omitempty"`
}

// maxReasonLabel bounds a hall's label.
const maxReasonLabel = 30

func validateReasonLabels(labels map[string]ReasonLabel) error {
	for code, l := range labels {
		field := "reason_labels." + code
		if !ValidReasonCode(code) {
			return FieldErrorf(field, "%q is not a reason code; the codes are %s", code, strings.Join(ReasonCodes(), ", "))
		}
		for _, s := range []string{l.Name, l.NameEn} {
			if utf8.RuneCountInString(s) > maxReasonLabel || strings.ContainsAny(s, "\r\n") {
				return FieldErrorf(field, "a reason's label is one line of at most %d characters", maxReasonLabel)
			}
		}
	}
	return nil
}

// cleanReasonLabels trims the labels and drops the empty ones.
func cleanReasonLabels(labels map[string]ReasonLabel) map[string]ReasonLabel {
	out := map[string]ReasonLabel{}
	for code, l := range labels {
		l = ReasonLabel{strings.TrimSpace(l.Name), strings.TrimSpace(l.NameEn)}
		if l != (ReasonLabel{}) {
			out[code] = l
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Reasons returns the list with the hall's labels.
func (s *RatingSettings) Reasons() []RatingReason {
	out := make([]RatingReason, len(ratingReasons))
	for i, r := range ratingReasons {
		out[i] = r.RatingReason
		if l, ok := s.ReasonLabels[r.Code]; ok {
			if l.Name != "" {
				out[i].Name = l.Name
			}
			if l.NameEn != "" {
				out[i].NameEn = l.NameEn
			}
		}
	}
	return out
}

// reasonCode finds the code a reason sent by a client stands for: the code
// itself, a label (the list's, the hall's, or an earlier client's), in
// either language; "" when it is none of these, the citizen's own words.
func (s *RatingSettings) reasonCode(reason string) string {
	if ValidReasonCode(reason) {
		return reason
	}
	for _, r := range ratingReasons {
		if strings.EqualFold(reason, r.Name) || strings.EqualFold(reason, r.NameEn) || contains(r.aliases, reason) {
			return r.Code
		}
		if l, ok := s.ReasonLabels[r.Code]; ok && (reason == l.Name || (l.NameEn != "" && strings.EqualFold(reason, l.NameEn))) {
			return r.Code
		}
	}
	return ""
}

// sortReasons splits the reasons a client sent (cleaned) into codes, in
// the list's order, and the citizen's own texts.
func (s *RatingSettings) sortReasons(in []string) (codes, texts []string) {
	chosen := map[string]bool{}
	texts = []string{}
	for _, r := range in {
		if c := s.reasonCode(r); c != "" {
			chosen[c] = true
		} else {
			texts = append(texts, r)
		}
	}
	codes = []string{}
	for _, r := range ratingReasons {
		if chosen[r.Code] {
			codes = append(codes, r.Code)
		}
	}
	return codes, texts
}

// SplitReasons splits a rating's stored reasons (codes, then the citizen's
// own texts, one list) into the codes and the texts. Reasons stored before
// the codes (texts an earlier rater sent) are read as the code their text
// names when it is one of the list's labels.
func SplitReasons(stored []string) (codes, texts []string) {
	var none RatingSettings
	return none.sortReasons(stored)
}

// JoinReasons is the one list a store keeps of a rating's reasons.
func (r *Rating) JoinReasons() []string {
	out := make([]string, 0, len(r.Reasons)+len(r.ReasonText))
	out = append(out, r.Reasons...)
	return append(out, r.ReasonText...)
}

// ReasonNames returns the Chinese labels of codes, for reports and
// exports, in the hall's labels when given.
func (s *RatingSettings) ReasonNames(codes []string) []string {
	list := s.Reasons()
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		name := c
		for _, r := range list {
			if r.Code == c {
				name = r.Name
			}
		}
		out = append(out, name)
	}
	return out
}

// HallRatingReasons returns the reason list of a hall, with its labels:
// what a rating page offers.
func (e *Engine) HallRatingReasons(ctx context.Context, hallID string) ([]RatingReason, error) {
	s, err := e.HallRatingSettings(ctx, hallID)
	if err != nil {
		return nil, err
	}
	return s.Reasons(), nil
}
