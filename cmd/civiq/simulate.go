package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sim"
	"github.com/civiq/civiq/sqlstore"
)

const simulateUsage = `civiq simulate: a discrete-event simulation of a hall (docs/simulate.md).

One service, steady arrivals (checks against Erlang C):
  civiq simulate --arrivals-per-hour R --handling-minutes M --counters C
                 [--customers N] [--seed S] [--handling-cv X] [--json]

A hall's day, from a profile, from the hall's recorded history, or the demo hall:
  civiq simulate [--profile day.json | --db civiq.db --hall ID] [--days 10]
                 [--policy fifo|service-order] [--arrivals-scale 1.2] [--compare policy=fifo,service-order]
                 [--compare counters=6,5] [--print-profile] [--json]

Staffing plan, checked by simulation:
  civiq simulate --plan [--profile day.json | --db civiq.db --hall ID]
                 [--target 15m] [--goal 0.8] [--days 30] [--csv plan.csv] [--lang zh|en] [--json]

Accuracy of the expected waits the engine gives (replayed through it):
  civiq simulate --evaluate-eta [--profile day.json] [--days 10] [--json]

Flags:
`

// simFlags are the flags of civiq simulate.
type simFlags struct {
	arrivals, handlingMin, handlingCV float64
	counters, customers, warmup       int
	handlingDist                      string
	seed                              uint64
	jsonOut                           bool

	profile, db, hall string
	historyDays       int
	days              int
	policy            string
	compare           string
	printProfile      bool
	noShow, lateRet   float64
	priority          float64
	scale             float64
	target            time.Duration
	goal              float64

	plan, evaluate bool
	csvPath        string
	lang           string
	set            map[string]bool
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f simFlags
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, simulateUsage)
		fs.PrintDefaults()
	}
	fs.Float64Var(&f.arrivals, "arrivals-per-hour", 0, "one service: citizens arriving per hour (Poisson)")
	fs.Float64Var(&f.handlingMin, "handling-minutes", 0, "one service: mean handling time in minutes")
	fs.IntVar(&f.counters, "counters", 0, "one service: number of counters")
	fs.IntVar(&f.customers, "customers", 100000, "one service: citizens counted")
	fs.IntVar(&f.warmup, "warmup", -1, "one service: citizens simulated first and not counted (default customers/10)")
	fs.Float64Var(&f.handlingCV, "handling-cv", 0, "coefficient of variation of handling times (0: exponential, or the profile's); lognormal unless --handling-dist")
	fs.StringVar(&f.handlingDist, "handling-dist", "", "handling time distribution: exponential, lognormal, gamma or deterministic")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed gives the same output")
	fs.BoolVar(&f.jsonOut, "json", false, "print JSON")
	fs.StringVar(&f.profile, "profile", "", "a JSON profile of the hall's day (default: the demo hall's busy weekday)")
	fs.StringVar(&f.db, "db", "", "a civiq SQLite database: build the profile from the hall's recorded tickets")
	fs.StringVar(&f.hall, "hall", "", "with --db: the hall")
	fs.IntVar(&f.historyDays, "history-days", 28, "with --db: how many past days to read")
	fs.IntVar(&f.days, "days", 10, "days simulated (or measured, with --evaluate-eta)")
	fs.StringVar(&f.policy, "policy", "", "calling policy: fifo or service-order (default: the profile's)")
	fs.StringVar(&f.compare, "compare", "", "run twice and compare side by side: policy=fifo,service-order or counters=A,B")
	fs.BoolVar(&f.printProfile, "print-profile", false, "print the profile as JSON and exit")
	fs.Float64Var(&f.noShow, "no-show", -1, "share of citizens not there when called; -1, the default, keeps the profile's")
	fs.Float64Var(&f.lateRet, "late-return", -1, "share of no-shows who come back; -1, the default, keeps the profile's")
	fs.Float64Var(&f.priority, "priority-share", -1, "share of green-channel citizens; -1, the default, keeps the profile's")
	fs.Float64Var(&f.scale, "arrivals-scale", 1, "multiply every arrival rate of the profile (1.2: a fifth more citizens)")
	fs.DurationVar(&f.target, "target", 0, "the wait that counts as called within target (default 15m, or the profile's)")
	fs.Float64Var(&f.goal, "goal", 0.8, "--plan: share to call within the target")
	fs.BoolVar(&f.plan, "plan", false, "print the counters needed per hour and service")
	fs.StringVar(&f.csvPath, "csv", "", "--plan: also write the plan as CSV to this file ('-': standard output)")
	fs.StringVar(&f.lang, "lang", "zh", "--plan --csv: the CSV's headings in zh or en")
	fs.BoolVar(&f.evaluate, "evaluate-eta", false, "replay simulated days through the real engine and measure its expected waits")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "civiq simulate: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	oneLine := f.set["arrivals-per-hour"] || f.set["handling-minutes"] || f.set["counters"]
	modes := 0
	for _, m := range []bool{oneLine, f.plan, f.evaluate} {
		if m {
			modes++
		}
	}
	if modes > 1 {
		return bad("--arrivals-per-hour/--handling-minutes/--counters, --plan and --evaluate-eta are separate modes: use one")
	}
	if f.db != "" && f.profile != "" {
		return bad("use --profile or --db, not both")
	}
	if (f.db == "") != (f.hall == "") {
		return bad("--db and --hall go together")
	}
	if f.days < 1 || f.days > 1000 {
		return bad("--days must be 1..1000")
	}
	if f.set["handling-cv"] && !(f.handlingCV >= 0 && f.handlingCV <= 10) {
		return bad("--handling-cv must be between 0 and 10")
	}
	if f.policy != "" && f.policy != civiq.PolicyFIFO && f.policy != civiq.PolicyServiceOrder {
		return bad("--policy must be fifo or service-order")
	}
	for name, v := range map[string]float64{"no-show": f.noShow, "late-return": f.lateRet, "priority-share": f.priority} {
		if f.set[name] && !(v >= 0 && v <= 1) {
			return bad("--%s must be between 0 and 1", name)
		}
	}
	if f.target < 0 {
		return bad("--target must be positive")
	}
	if f.lang != "zh" && f.lang != "en" {
		return bad("--lang must be zh or en")
	}
	if !(f.scale > 0 && f.scale <= 100) {
		return bad("--arrivals-scale must be above 0 and at most 100")
	}
	if oneLine {
		return simOneLine(&f, stdout, stderr)
	}
	p, err := simLoadProfile(ctx, &f)
	if err != nil {
		fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	if err := simApply(&f, p); err != nil {
		return bad("%v", err)
	}
	if f.printProfile {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			return 1
		}
		return 0
	}
	switch {
	case f.plan:
		return simPlan(ctx, &f, p, stdout, stderr)
	case f.evaluate:
		return simEvaluate(ctx, &f, p, stdout, stderr)
	}
	return simProfile(&f, p, stdout, stderr)
}

var errUsage = errors.New("usage")

// simOneLine runs the one-service form.
func simOneLine(f *simFlags, stdout, stderr io.Writer) int {
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "civiq simulate: "+format+"\n", a...)
		return 2
	}
	if !(f.arrivals > 0) || math.IsInf(f.arrivals, 0) {
		return bad("--arrivals-per-hour must be a positive number")
	}
	if !(f.handlingMin > 0) || math.IsInf(f.handlingMin, 0) {
		return bad("--handling-minutes must be a positive number")
	}
	if f.counters < 1 || f.counters > 10000 {
		return bad("--counters must be 1..10000")
	}
	if f.customers < 1 || f.customers > sim.MaxCustomers/2 {
		return bad("--customers must be 1..%d", sim.MaxCustomers/2)
	}
	if f.warmup < 0 {
		f.warmup = f.customers / 10
	}
	if f.warmup > f.customers {
		return bad("--warmup must be at most --customers")
	}
	if f.set["profile"] || f.set["db"] || f.set["days"] || f.set["policy"] || f.set["print-profile"] || f.set["arrivals-scale"] {
		return bad("--profile, --db, --days, --policy, --arrivals-scale and --print-profile are for a hall's day, not the one-service form")
	}
	dist, err := sim.NewDist(f.handlingDist, f.handlingMin*60, f.handlingCV)
	if err != nil {
		return bad("%v", err)
	}
	counters := []int{f.counters}
	if f.compare != "" {
		key, vals, ok := strings.Cut(f.compare, "=")
		if !ok || key != "counters" {
			return bad("the one-service form compares counters only: --compare counters=3,4")
		}
		counters = nil
		for _, v := range strings.Split(vals, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 10000 {
				return bad("--compare counters=A,B takes counter numbers 1..10000, not %q", v)
			}
			counters = append(counters, n)
		}
		if len(counters) != 2 {
			return bad("--compare counters=A,B takes two numbers")
		}
	}
	target := float64(sim.DefaultTarget)
	if f.target > 0 {
		target = f.target.Seconds()
	}
	type out struct {
		Counters int     `json:"counters,omitempty"`
		Mean     float64 `json:"mean_wait_seconds"`
		P90      float64 `json:"p90_wait_seconds"`
		Util     float64 `json:"utilisation"`
		N        int     `json:"customers"`
		within   float64
		erlang   sim.Queue
	}
	var outs []out
	for _, c := range counters {
		cfg := sim.Config{Services: []sim.Service{{ID: "s", Handling: dist, Arrivals: []sim.Slot{{From: 0, To: math.Inf(1), PerHour: f.arrivals}}}},
			Customers: f.customers + f.warmup, Warmup: f.warmup, Seed: f.seed, Target: target}
		for i := range c {
			cfg.Counters = append(cfg.Counters, sim.Counter{ID: strconv.Itoa(i + 1), Services: []string{"s"}})
		}
		r, err := sim.Run(cfg)
		if err != nil {
			return bad("%v", err)
		}
		outs = append(outs, out{Mean: round1(r.MeanWait), P90: round1(r.P90Wait), Util: round4(r.Utilisation), N: r.Customers,
			within: r.WithinTarget, erlang: sim.Queue{ArrivalsPerHour: f.arrivals, HandlingSeconds: f.handlingMin * 60, Counters: c}})
	}
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		if len(outs) == 1 {
			enc.Encode(outs[0])
			return 0
		}
		for i := range outs {
			outs[i].Counters = counters[i]
		}
		enc.Encode(map[string]any{"compare": "counters", "runs": outs})
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "one service: %.4g arrivals/h, %.4g min handling (%s, cv %.2g), %d customers after %d warm-up, seed %d\n",
		f.arrivals, f.handlingMin, dist.Kind, dist.CV, f.customers, f.warmup, f.seed)
	fmt.Fprint(tw, "counters\tutilisation\tmean wait\tp90 wait\twithin target\tErlang C mean wait\tErlang C within target\t\n")
	for i, o := range outs {
		q := o.erlang
		fmt.Fprintf(tw, "%d\t%.1f%%\t%s\t%s\t%.1f%%\t%s\t%s\t\n", counters[i], o.Util*100, minutes(o.Mean), minutes(o.P90), o.within*100,
			minutes(q.MeanWait()), pct(q.ServiceLevel(target), q.Stable()))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "(target %s; Erlang C assumes exponential handling)\n", minutes(target))
	return 0
}

// simLoadProfile reads the profile: a file, a hall's history, or the demo.
func simLoadProfile(ctx context.Context, f *simFlags) (*sim.Profile, error) {
	switch {
	case f.profile != "":
		r, err := os.Open(f.profile)
		if err != nil {
			return nil, fmt.Errorf("%w (%w)", err, errUsage)
		}
		defer r.Close()
		p, err := sim.ReadProfile(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (%w)", f.profile, err, errUsage)
		}
		return p, nil
	case f.db != "":
		if f.historyDays < 1 || f.historyDays > 3660 {
			return nil, fmt.Errorf("--history-days must be 1..3660 (%w)", errUsage)
		}
		if _, err := os.Stat(f.db); err != nil {
			return nil, fmt.Errorf("%w (%w)", err, errUsage)
		}
		store, err := sqlstore.Open(f.db, sqlstore.Options{})
		if err != nil {
			return nil, err
		}
		defer store.Close()
		layout, err := civiq.NewEngine(store).Layout(ctx, f.hall)
		if civiq.IsNotFound(err) {
			return nil, fmt.Errorf("no hall %q in %s (%w)", f.hall, f.db, errUsage)
		}
		if err != nil {
			return nil, err
		}
		now := time.Now()
		tickets, err := store.TicketsIssued(ctx, f.hall, now.AddDate(0, 0, -f.historyDays), now)
		if err != nil {
			return nil, err
		}
		return sim.ProfileFromHistory(layout.Hall, layout.Services, layout.Counters, tickets, sim.HistoryOptions{})
	}
	return sim.DemoProfile(), nil
}

// simApply puts the flags that override the profile into it.
func simApply(f *simFlags, p *sim.Profile) error {
	if f.policy != "" {
		p.Policy = f.policy
	}
	if f.set["no-show"] {
		p.NoShow = f.noShow
	}
	if f.set["late-return"] {
		p.LateReturn = f.lateRet
	}
	if f.set["priority-share"] {
		p.PriorityShare = f.priority
	}
	if f.target > 0 {
		p.TargetMinutes = f.target.Minutes()
	}
	if f.scale != 1 {
		for i := range p.Services {
			for k, v := range p.Services[i].ArrivalsPerHour {
				p.Services[i].ArrivalsPerHour[k] = v * f.scale
			}
		}
	}
	if f.set["handling-cv"] || f.set["handling-dist"] {
		for i := range p.Services {
			s := &p.Services[i]
			if f.set["handling-cv"] {
				s.HandlingCV = f.handlingCV
			}
			s.HandlingDist = f.handlingDist
		}
	}
	_, err := p.Config(f.seed, f.days)
	return err
}

// simProfile simulates the profile's days, once or twice to compare.
func simProfile(f *simFlags, p *sim.Profile, stdout, stderr io.Writer) int {
	type variant struct {
		label string
		cfg   sim.Config
	}
	base, err := p.Config(f.seed, f.days)
	if err != nil {
		fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
		return 2
	}
	variants := []variant{{label: "", cfg: base}}
	if f.compare != "" {
		key, vals, ok := strings.Cut(f.compare, "=")
		parts := strings.Split(vals, ",")
		if !ok || len(parts) != 2 {
			fmt.Fprintln(stderr, "civiq simulate: --compare takes policy=A,B or counters=A,B")
			return 2
		}
		variants = nil
		for _, v := range parts {
			v = strings.TrimSpace(v)
			cfg := base
			switch key {
			case "policy":
				if v != civiq.PolicyFIFO && v != civiq.PolicyServiceOrder {
					fmt.Fprintf(stderr, "civiq simulate: --compare policy= takes fifo and service-order, not %q\n", v)
					return 2
				}
				cfg.Policy = v
			case "counters":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > len(base.Counters) {
					fmt.Fprintf(stderr, "civiq simulate: --compare counters=A,B: each is how many of the profile's %d counters are staffed (the first ones), not %q\n", len(base.Counters), v)
					return 2
				}
				cfg.Counters = base.Counters[:n]
			default:
				fmt.Fprintf(stderr, "civiq simulate: --compare takes policy=A,B or counters=A,B, not %q\n", key)
				return 2
			}
			variants = append(variants, variant{label: key + "=" + v, cfg: cfg})
		}
	}
	var results []*sim.Result
	for _, v := range variants {
		r, err := sim.Run(v.cfg)
		if err != nil {
			fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
			return 2
		}
		results = append(results, r)
	}
	if f.jsonOut {
		type run struct {
			Label string `json:"label,omitempty"`
			simJSON
		}
		var runs []run
		for i, r := range results {
			runs = append(runs, run{Label: variants[i].label, simJSON: toSimJSON(r, f.days)})
		}
		enc := json.NewEncoder(stdout)
		if len(runs) == 1 {
			enc.Encode(runs[0])
		} else {
			enc.Encode(map[string]any{"compare": f.compare, "runs": runs})
		}
		return 0
	}
	name := p.Name
	if name == "" {
		name = "the profile"
	}
	policy := base.Policy
	if policy == "" {
		policy = civiq.PolicyFIFO
	}
	fmt.Fprintf(stdout, "%s: %d day(s), seed %d, policy %s, target %s\n\n", name, f.days, f.seed, policy, minutes(results[0].Target))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "service\t"
	for _, v := range variants {
		l := v.label
		if l != "" {
			l = " " + l
		}
		header += fmt.Sprintf("citizens/day\tmean wait%s\tp90 wait%s\twithin target%s\t", l, l, l)
	}
	fmt.Fprintln(tw, header)
	for si := range results[0].Services {
		fmt.Fprintf(tw, "%s\t", results[0].Services[si].ID)
		for _, r := range results {
			s := r.Services[si]
			fmt.Fprintf(tw, "%.1f\t%s\t%s\t%.1f%%\t", float64(s.Customers)/float64(f.days), minutes(s.MeanWait), minutes(s.P90Wait), s.WithinTarget*100)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "all\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%.1f\t%s\t%s\t%.1f%%\t", float64(r.Customers)/float64(f.days), minutes(r.MeanWait), minutes(r.P90Wait), r.WithinTarget*100)
	}
	fmt.Fprintln(tw)
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	header = "counter\tservices\t"
	for _, v := range variants {
		l := v.label
		if l != "" {
			l = " " + l
		}
		header += fmt.Sprintf("utilisation%s\tcalled/day%s\t", l, l)
	}
	fmt.Fprintln(tw, header)
	for ci, c := range base.Counters {
		fmt.Fprintf(tw, "%s\t%s\t", c.ID, strings.Join(c.Services, ","))
		for _, r := range results {
			if ci < len(r.Counters) {
				fmt.Fprintf(tw, "%.1f%%\t%.1f\t", r.Counters[ci].Utilisation*100, float64(r.Counters[ci].Called)/float64(f.days))
			} else {
				fmt.Fprint(tw, "-\t-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "all\t\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%.1f%%\t\t", r.Utilisation*100)
	}
	fmt.Fprintln(tw)
	tw.Flush()
	for i, r := range results {
		if r.NoShows > 0 || r.Unserved > 0 {
			l := variants[i].label
			if l != "" {
				l += ": "
			}
			fmt.Fprintf(stdout, "\n%sno-shows %.1f/day, late returns %.1f/day, never called %.1f/day", l,
				float64(r.NoShows)/float64(f.days), float64(r.Returned)/float64(f.days), float64(r.Unserved)/float64(f.days))
		}
	}
	fmt.Fprintln(stdout)
	return 0
}

// simJSON is a Result as civiq simulate --json prints it.
type simJSON struct {
	Days        int                 `json:"days"`
	Customers   int                 `json:"customers"`
	MeanWait    float64             `json:"mean_wait_seconds"`
	P90Wait     float64             `json:"p90_wait_seconds"`
	Within      float64             `json:"within_target"`
	Target      float64             `json:"target_seconds"`
	Utilisation float64             `json:"utilisation"`
	NoShows     int                 `json:"no_shows"`
	Returned    int                 `json:"late_returns"`
	Unserved    int                 `json:"never_called"`
	Services    []sim.ServiceResult `json:"services"`
	Counters    []sim.CounterResult `json:"counters"`
}

func toSimJSON(r *sim.Result, days int) simJSON {
	out := simJSON{Days: days, Customers: r.Customers, MeanWait: round1(r.MeanWait), P90Wait: round1(r.P90Wait), Within: round4(r.WithinTarget),
		Target: r.Target, Utilisation: round4(r.Utilisation), NoShows: r.NoShows, Returned: r.Returned, Unserved: r.Unserved}
	for _, s := range r.Services {
		s.MeanWait, s.P90Wait, s.MaxWait, s.WithinTarget = round1(s.MeanWait), round1(s.P90Wait), round1(s.MaxWait), round4(s.WithinTarget)
		out.Services = append(out.Services, s)
	}
	for _, c := range r.Counters {
		c.BusySeconds, c.OpenSeconds, c.Utilisation = round1(c.BusySeconds), round1(c.OpenSeconds), round4(c.Utilisation)
		out.Counters = append(out.Counters, c)
	}
	return out
}

// simPlan prints the staffing plan (sim.PlanStaffing, the planner of the
// managers' page) and writes its CSV.
func simPlan(ctx context.Context, f *simFlags, p *sim.Profile, stdout, stderr io.Writer) int {
	simDays := sim.DefaultPlanSimDays
	if f.set["days"] {
		simDays = f.days
	}
	pl, err := sim.PlanStaffing(ctx, p, sim.StaffingOptions{Target: p.TargetMinutes * 60, Goal: f.goal, Seed: f.seed, SimDays: simDays})
	var e *civiq.Error
	if errors.As(err, &e) {
		// The limits speak of the API's fields: name the flag.
		flag := map[string]string{"sim_days": "--days", "goal": "--goal", "target_minutes": "--target", "profile": "the profile"}[e.Field]
		fmt.Fprintf(stderr, "civiq simulate: %s: %s\n", cmp.Or(flag, e.Field), e.Message)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
		return 1
	}
	if f.csvPath != "" {
		w := stdout
		if f.csvPath != "-" {
			file, err := os.Create(f.csvPath)
			if err != nil {
				fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
				return 1
			}
			defer file.Close()
			w = file
		}
		if err := pl.WriteCSV(w, f.lang); err != nil {
			fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
			return 1
		}
		if f.csvPath == "-" {
			return 0
		}
	}
	if f.jsonOut {
		json.NewEncoder(stdout).Encode(pl)
		return 0
	}
	pl.WriteTable(stdout)
	fmt.Fprintln(stdout, "\nCounters here serve one service each; shared counters pool their capacity: check a staffing with 'civiq simulate --profile'.")
	return 0
}

// simEvaluate replays days through the engine and reports the accuracy of
// the expected waits.
func simEvaluate(ctx context.Context, f *simFlags, p *sim.Profile, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "civiq simulate: %v\n", err)
		return 1
	}
	// The replay writes a hall into a SQLite file of its own, thrown away
	// afterwards.
	dir, err := os.MkdirTemp("", "civiq-eta-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlstore.Open(filepath.Join(dir, "replay.db"), sqlstore.Options{Synchronous: "OFF"})
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	rep, err := sim.EvaluateETA(ctx, sim.ETAOptions{Profile: p, Seed: f.seed, Days: f.days, Store: store})
	if err != nil {
		return fail(err)
	}
	machine := fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if f.jsonOut {
		json.NewEncoder(stdout).Encode(struct {
			*sim.ETAReport
			Machine string  `json:"machine"`
			Seconds float64 `json:"elapsed_seconds"`
		}{rep, machine, round1(rep.Elapsed.Seconds())})
		return 0
	}
	fmt.Fprintf(stdout, "expected waits at issue vs the waits that followed: %d tickets, %d day(s) after one day of history, seed %d\n", rep.Tickets, rep.Days, f.seed)
	fmt.Fprintf(stdout, "machine: %s; replayed in %.1f s\n\n", machine, rep.Elapsed.Seconds())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "service\ttickets\tmean wait\tMAE\tMAE/mean wait\tnaive MAE\t\n")
	for _, s := range rep.Services {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f%%\t%s\t\n", s.ID, s.Tickets, minutes(s.MeanWait), minutes(s.MAE), 100*s.MAE/math.Max(s.MeanWait, 1e-9), minutes(s.NaiveMAE))
	}
	fmt.Fprintf(tw, "all\t%d\t%s\t%s\t%.1f%%\t%s\t\n", rep.Tickets, minutes(rep.MeanWait), minutes(rep.MAE), rep.MAERatio*100, minutes(rep.NaiveMAE))
	tw.Flush()
	fmt.Fprintf(stdout, "\nmean absolute error %.0f s = %.1f%% of the mean wait %.0f s (target: at most 20%%)\n", rep.MAE, rep.MAERatio*100, rep.MeanWait)
	fmt.Fprintf(stdout, "naive estimate (people ahead x mean handling / open counters): MAE %.0f s; the prediction is %.1f%% lower (target: at least 25%%)\n", rep.NaiveMAE, rep.Improvement*100)
	fmt.Fprintf(stdout, "previous civiq estimate: MAE %.0f s; bias of the prediction %+.0f s\n", rep.PreviousMAE, rep.Bias)
	return 0
}

func minutes(sec float64) string {
	if math.IsInf(sec, 0) || math.IsNaN(sec) {
		return "∞"
	}
	return fmt.Sprintf("%.1f min", sec/60)
}

func pct(x float64, ok bool) string {
	if !ok {
		return "unstable"
	}
	return fmt.Sprintf("%.1f%%", x*100)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round4(x float64) float64 { return math.Round(x*10000) / 10000 }
