package web

import "context"

// reasonChoice is one reason of a bad rating as a rating page offers it:
// the code the rating keeps (civiq's reasons.go) and the hall's label in
// the page's language.
type reasonChoice struct {
	Code, Label, Group string
}

// reasonChoices is the hall's one reason list, for the rating device, the
// phone page and the desk alike, so that every rating names the same codes.
func (s *Site) reasonChoices(ctx context.Context, hallID, lang string) ([]reasonChoice, error) {
	list, err := s.Engine.HallRatingReasons(ctx, hallID)
	if err != nil {
		return nil, err
	}
	out := make([]reasonChoice, 0, len(list))
	for _, r := range list {
		label := r.Name
		if lang == "en" && r.NameEn != "" {
			label = r.NameEn
		}
		out = append(out, reasonChoice{Code: r.Code, Label: label, Group: r.Group})
	}
	return out, nil
}

// reasonLabels are the labels of the reason codes, for a page's script.
func reasonLabels(choices []reasonChoice) map[string]string {
	out := make(map[string]string, len(choices))
	for _, c := range choices {
		out[c.Code] = c.Label
	}
	return out
}
