package civiq_test

import (
	"testing"

	"github.com/civiq/civiq"
)

// A hall's counters are read with whether a paired counter device calls
// at each (CounterTx.Counters, DeviceCalls): not before its pairing, nor
// for a device of another kind, nor after its deletion; one counter read
// alone says nothing of it.
func TestCountersDeviceCalls(t *testing.T) {
	e := newEnv(t)
	calls := func() map[string]bool {
		t.Helper()
		got := map[string]bool{}
		if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
			cs, err := tx.Counters("demo")
			for _, c := range cs {
				if c.DeviceCalls {
					got[c.ID] = true
				}
			}
			if c, err := tx.Counter("demo", "5"); err != nil || c.DeviceCalls {
				t.Errorf("counter 5 alone: %+v, %v", c, err)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	d := &civiq.Device{HallID: "demo", Kind: civiq.DeviceCounter, CounterID: "5", Name: "5号窗口呼叫器"}
	rater := &civiq.Device{HallID: "demo", Kind: civiq.DeviceRater, CounterID: "6", Name: "6号窗口评价器"}
	for _, d := range []*civiq.Device{d, rater} {
		if err := e.eng.CreateDevice(e.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls(); len(got) != 0 {
		t.Errorf("before pairing: %v", got)
	}
	for _, d := range []*civiq.Device{d, rater} {
		if _, _, err := e.eng.PairDevice(e.ctx, d.PairingCode); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls(); len(got) != 1 || !got["5"] {
		t.Errorf("paired: %v, want counter 5 alone", got)
	}
	if err := e.eng.DeleteDevice(e.ctx, "demo", d.ID); err != nil {
		t.Fatal(err)
	}
	if got := calls(); len(got) != 0 {
		t.Errorf("deleted: %v", got)
	}
}
