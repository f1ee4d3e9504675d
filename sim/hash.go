package sim

import "math"

// mix64 is the splitmix64 finaliser: a fast, well-distributed 64-bit mix.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hash3 combines a key with two values into one well-mixed word.
func hash3(key uint64, a, b int64) uint64 {
	return mix64(mix64(key^uint64(a)) ^ uint64(b)*0x9e3779b97f4a7c15)
}

// hashString hashes a string (FNV-1a, then mixed).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// unit maps a hash to a float64 in [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// rng is a tiny splitmix64 generator; the zero value is usable.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a float64 in [0, 1).
func (r *rng) float() float64 { return unit(r.next()) }

// intn returns an int in [0, n) for n > 0.
func (r *rng) intn(n int) int {
	return int((uint64(uint32(r.next())) * uint64(n)) >> 32)
}

// expTable[i] = -ln(1 - i/expN): the Exp(1) quantile function sampled for
// table-driven variates.
const expN = 4096

var expTable = func() (t [expN + 1]float64) {
	for i := 0; i < expN; i++ {
		t[i] = -math.Log(1 - float64(i)/expN)
	}
	t[expN] = t[expN-1] + (t[expN-1] - t[expN-2]) + 2 // a bounded tail
	return t
}()

// exp returns an Exp(1) variate (inverse CDF by table with linear
// interpolation: cheap and deterministic; the far tail is bounded).
func (r *rng) exp() float64 {
	u := r.next()
	i := u >> 52                          // 12 bits
	f := float64(u&(1<<52-1)) / (1 << 52) // position within the cell
	return expTable[i] + f*(expTable[i+1]-expTable[i])
}

// gauss returns an approximately standard normal variate (Irwin–Hall with
// four uniforms, rescaled): cheap and bounded, which suits a price walk.
func (r *rng) gauss() float64 {
	return (r.float() + r.float() + r.float() + r.float() - 2) * 1.7320508075688772
}

// gaussOf returns a deterministic approximately normal variate from a hash.
func gaussOf(h uint64) float64 {
	r := newRNG(h)
	return r.gauss()
}
