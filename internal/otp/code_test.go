package otp

import (
	"math"
	"testing"
)

func TestCodeShape(t *testing.T) {
	for n := 4; n <= 10; n++ {
		for range 200 {
			c := newCode(n)
			if len(c) != n {
				t.Fatalf("newCode(%d) = %q", n, c)
			}
			for _, r := range c {
				if r < '0' || r > '9' {
					t.Fatalf("newCode(%d) = %q: not digits", n, c)
				}
			}
		}
	}
}

// TestCodeUniform checks every digit at every position is equally likely
// (chi-squared, 9 degrees of freedom; 33.7 is p = 0.0001, so a false alarm
// is one run in ten thousand). A modulo bias of bytes (256 % 10 = 6) would
// push digits 0-5 up by 2.3 % and fail it.
func TestCodeUniform(t *testing.T) {
	const samples = 60000
	var counts [6][10]int
	for range samples {
		for i, r := range newCode(6) {
			counts[i][r-'0']++
		}
	}
	expected := float64(samples) / 10
	for pos, cs := range counts {
		chi := 0.0
		for _, c := range cs {
			chi += math.Pow(float64(c)-expected, 2) / expected
		}
		if chi > 33.7 {
			t.Errorf("position %d: chi² = %.1f, counts %v", pos, chi, cs)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !validID(id) || len(id) != 24 {
			t.Fatalf("newID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "short", "abcdefghijklmnopqrstuvw!", "abcdefghijklmnopqrstuvwxy", "abcdefghijklmnopqrstuv/+", "abcdefghijklmnopqrstuvw="} {
		if validID(bad) {
			t.Errorf("validID(%q) = true", bad)
		}
	}
}
