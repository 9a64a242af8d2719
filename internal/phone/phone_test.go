package phone

import (
	"errors"
	"testing"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		name, number, country string
		want, region          string
		err                   error
	}{
		{"guide example", "07566224395", "GBR", "+447566224395", "GB", nil},
		{"spaces and dashes", "07566 224-395", "GBR", "+447566224395", "GB", nil},
		{"lower-case country", "07566224395", "gbr", "+447566224395", "GB", nil},
		{"international with country", "+447566224395", "GBR", "+447566224395", "GB", nil},
		{"international alone", "+35799123456", "", "+35799123456", "CY", nil},
		{"cyprus national", "99123456", "CYP", "+35799123456", "CY", nil},
		{"us", "(202) 555-0143", "USA", "+12025550143", "US", nil},
		{"too short", "0756", "GBR", "", "", ErrNumber},
		{"letters", "call me", "GBR", "", "", ErrNumber},
		{"alpha-2 refused", "07566224395", "GB", "", "", ErrCountry},
		{"unknown country", "07566224395", "XYZ", "", "", ErrCountry},
		{"national without country", "07566224395", "", "", "", ErrCountry},
		{"other country's number", "+12025550143", "GBR", "", "", ErrNumber},
		{"empty", "", "GBR", "", "", ErrNumber},
		{"international freephone (no country)", "+80012345678", "", "", "", ErrNumber},
		{"satellite network (no country)", "+881612345678", "", "", "", ErrNumber},
		{"longer than E.164's 15 digits", "+4920100000000000", "", "", "", ErrNumber},
		{"international premium rate (no country)", "+979123456789", "", "", "", ErrNumber},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, region, err := Normalise(tc.number, tc.country)
			if !errors.Is(err, tc.err) || got != tc.want || region != tc.region {
				t.Fatalf("Normalise(%q, %q) = %q %q %v, want %q %q %v", tc.number, tc.country, got, region, err, tc.want, tc.region, tc.err)
			}
		})
	}
}
