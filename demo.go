package civiq

import "context"

// DemoHall is the hall `civiq serve --demo` loads into an empty database,
// as the contract describes it.
func DemoHall() (Hall, []Service, []Counter) {
	// No opening hours, so the demo works whenever someone tries it.
	h := Hall{ID: "demo", Name: "示范政务服务大厅", NameEn: "Demo Service Hall", Timezone: "Asia/Shanghai",
		AllowRemote: true, LateReturnBehind: DefaultLateReturnBehind}
	h.Defaults()
	svcs := []Service{
		{ID: "general", Prefix: "A", Name: "综合受理", NameEn: "General intake"},
		{ID: "property", Prefix: "B", Name: "不动产登记", NameEn: "Real estate registration"},
		{ID: "tax", Prefix: "C", Name: "税务", NameEn: "Tax"},
		{ID: "social", Prefix: "D", Name: "社保医保", NameEn: "Social and medical insurance"},
	}
	for i := range svcs {
		svcs[i].HallID, svcs[i].Position = h.ID, i
	}
	serve := [][]string{
		{"general", "social"}, {"general", "social"},
		{"property", "general"}, {"property", "general"},
		{"tax"},
		{"general", "property", "tax", "social"},
	}
	var cs []Counter
	for i, s := range serve {
		id := string(rune('1' + i))
		cs = append(cs, Counter{HallID: h.ID, ID: id, Name: id + "号窗口", ServiceIDs: s, Status: CounterOpen})
	}
	return h, svcs, cs
}

// LoadDemo puts the demo hall into a database that holds no hall; it
// reports whether it did.
func (e *Engine) LoadDemo(ctx context.Context) (bool, error) {
	h, svcs, cs := DemoHall()
	loaded := false
	err := e.update(ctx, func(tx Tx) error {
		halls, err := tx.Halls()
		if err != nil || len(halls) > 0 {
			return err
		}
		return e.putHall(tx, &h, svcs, cs, &loaded)
	})
	return loaded, err
}

// putHall writes a hall with its services and counters.
func (e *Engine) putHall(tx Tx, h *Hall, svcs []Service, cs []Counter, done *bool) error {
	if err := tx.PutHall(h); err != nil {
		return err
	}
	for i := range svcs {
		if err := tx.PutService(&svcs[i]); err != nil {
			return err
		}
	}
	for i := range cs {
		if err := tx.PutCounter(&cs[i]); err != nil {
			return err
		}
	}
	*done = true
	return nil
}
