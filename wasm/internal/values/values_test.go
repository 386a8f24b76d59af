package values

import "testing"

// BenchmarkNormalizeStructs normalizes 1,000 structs, as Go params or a Go
// worker's typed result holding a slice of them would be.
func BenchmarkNormalizeStructs(b *testing.B) {
	type point struct {
		X, Y  float64
		Label string `json:"label,omitempty"`
	}
	points := make([]point, 1000)
	for i := range points {
		points[i] = point{X: float64(i), Y: -float64(i), Label: "p"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(points, "params"); err != nil {
			b.Fatal(err)
		}
	}
}
