package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
)

func TestX(t *testing.T) {
	days, _ := strconv.Atoi(os.Getenv("XDAYS"))
	if days == 0 { days = 16 }
	for _, seed := range []uint64{1, 2} {
	rep, err := EvaluateETA(context.Background(), ETAOptions{Seed: seed, Days: days})
	if err != nil { t.Fatal(err) }
	fmt.Printf("eta: n %d mean %.0f mae %.0f (%.3f) naive %.0f prev %.0f impr %.2f bias %.0f took %v\n", rep.Tickets, rep.MeanWait, rep.MAE, rep.MAERatio, rep.NaiveMAE, rep.PreviousMAE, rep.Improvement, rep.Bias, rep.Elapsed)
	if os.Getenv("XV") == "" { continue }
	for _, s := range rep.Services { fmt.Printf("  %+v\n", s) }
	type acc struct{ n, w, e, mae, bias float64 }
	by := map[int]*acc{}
	hr := map[int]*acc{}
	for _, s := range rep.Samples {
		b := 0
		switch {
		case s.Position == 0: b = 0
		case s.Position <= 2: b = 1
		case s.Position <= 5: b = 2
		case s.Position <= 10: b = 3
		case s.Position <= 20: b = 4
		default: b = 5
		}
		h := s.Issued.Hour()
		for _, x := range []struct{m map[int]*acc; k int}{{by, b}, {hr, h}} {
			a := x.m[x.k]
			if a == nil { a = &acc{}; x.m[x.k] = a }
			a.n++; a.w += s.Wait; a.e += s.ETA; a.mae += math.Abs(s.ETA-s.Wait); a.bias += s.ETA - s.Wait
		}
	}
	for b := 0; b < 24; b++ {
		if a := by[b]; a != nil {
			fmt.Printf("   pos bucket %d n %3.0f wait %5.0f eta %5.0f mae %5.0f (%.2f) bias %6.0f  share of total abs err %.2f\n", b, a.n, a.w/a.n, a.e/a.n, a.mae/a.n, a.mae/a.w, a.bias/a.n, a.mae/(rep.MAE*float64(rep.Tickets)))
		}
	}
	for b := 0; b < 24; b++ {
		if a := hr[b]; a != nil {
			fmt.Printf("   hour %d n %3.0f wait %5.0f eta %5.0f mae %5.0f (%.2f) bias %6.0f  share of total abs err %.2f\n", b, a.n, a.w/a.n, a.e/a.n, a.mae/a.n, a.mae/a.w, a.bias/a.n, a.mae/(rep.MAE*float64(rep.Tickets)))
		}
	}
	}
}
