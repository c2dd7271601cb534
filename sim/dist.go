package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Handling-time distributions.
const (
	DistExponential   = "exponential"
	DistLognormal     = "lognormal"
	DistGamma         = "gamma"
	DistDeterministic = "deterministic"
)

// Dist is a distribution of positive durations in seconds, given by its mean
// and coefficient of variation (standard deviation over mean). An
// exponential distribution has CV 1 whatever CV says; a deterministic one
// has CV 0.
type Dist struct {
	Kind string  `json:"kind"`
	Mean float64 `json:"mean"`
	CV   float64 `json:"cv"`
}

// Exponential is the exponential distribution with the given mean.
func Exponential(mean float64) Dist { return Dist{Kind: DistExponential, Mean: mean, CV: 1} }

// NewDist builds a distribution of kind ("" chooses exponential when cv is
// 0 or 1, lognormal otherwise).
func NewDist(kind string, mean, cv float64) (Dist, error) {
	if kind == "" {
		kind = DistExponential
		if cv > 0 && cv != 1 {
			kind = DistLognormal
		}
	}
	d := Dist{Kind: kind, Mean: mean, CV: cv}
	switch kind {
	case DistExponential:
		d.CV = 1
	case DistDeterministic:
		d.CV = 0
	}
	return d, d.Validate()
}

// Validate reports a distribution that cannot be sampled.
func (d Dist) Validate() error {
	if !(d.Mean > 0) || math.IsInf(d.Mean, 0) {
		return fmt.Errorf("the mean handling time must be positive, not %v", d.Mean)
	}
	switch d.Kind {
	case DistExponential, DistDeterministic:
	case DistLognormal, DistGamma:
		if !(d.CV > 0) || d.CV > 10 {
			return fmt.Errorf("a %s handling time needs a coefficient of variation in (0, 10], not %v", d.Kind, d.CV)
		}
	default:
		return fmt.Errorf("unknown distribution %q: use exponential, lognormal, gamma or deterministic", d.Kind)
	}
	return nil
}

// Sample draws one duration.
func (d Dist) Sample(r *rand.Rand) float64 {
	switch d.Kind {
	case DistDeterministic:
		return d.Mean
	case DistLognormal:
		s2 := math.Log1p(d.CV * d.CV)
		mu := math.Log(d.Mean) - s2/2
		return math.Exp(mu + math.Sqrt(s2)*r.NormFloat64())
	case DistGamma:
		k := 1 / (d.CV * d.CV)
		return gamma(r, k) * d.Mean / k
	default:
		return r.ExpFloat64() * d.Mean
	}
}

// gamma draws from the gamma distribution with shape k and scale 1
// (Marsaglia and Tsang, 2000).
func gamma(r *rand.Rand, k float64) float64 {
	if k < 1 {
		// Boost: G(k) = G(k+1) * U^(1/k).
		return gamma(r, k+1) * math.Pow(1-r.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// newRand gives a generator for one stream of a run: the seed and the
// stream number select it, so adding a stream never changes another.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream*0x9e3779b97f4a7c15+0x632be59bd9b4e019))
}
