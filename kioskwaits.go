package civiq

import "context"

// ServiceWait is a service as the kiosk shows it on its button: how many
// wait, and how long a ticket taken now would wait.
type ServiceWait struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Waiting counts the tickets waiting in the service.
	Waiting int `json:"waiting"`
	// ETASeconds is the expected wait of a normal ticket taken now, by
	// the same prediction an issued ticket gets.
	ETASeconds int `json:"eta_seconds"`
	// OpenCounters counts the open counters serving the service.
	OpenCounters int `json:"open_counters"`
}

// ServiceWaits gives the waits of every service of a hall, in the hall's
// order of services. Counts only: no personal data.
func (e *Engine) ServiceWaits(ctx context.Context, hallID string) ([]ServiceWait, error) {
	out := []ServiceWait{}
	err := e.store.View(ctx, func(tx Tx) error {
		_, svcs, counters, err := hallLayout(tx, hallID)
		if err != nil {
			return err
		}
		counts, err := tx.WaitingCounts(hallID)
		if err != nil {
			return err
		}
		now := e.now()
		for _, svc := range svcs {
			open := 0
			for _, c := range counters {
				if c.Status == CounterOpen && c.Serves(svc.ID) {
					open++
				}
			}
			// A ticket taken now: behind every waiting ticket of its service.
			n := counts[svc.ID]
			probe := &Ticket{HallID: hallID, ServiceID: svc.ID, Priority: PriorityNormal, Status: StatusWaiting, IssuedAt: now, QueuedAt: now}
			eta, err := e.predictWait(tx, probe, n)
			if err != nil {
				return err
			}
			out = append(out, ServiceWait{ID: svc.ID, Prefix: svc.Prefix, Name: svc.Name, NameEn: svc.NameEn,
				Waiting: n, ETASeconds: eta, OpenCounters: open})
		}
		return nil
	})
	return out, err
}
