package phone

import (
	"errors"
	"regexp"
	"testing"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FuzzNormalise feeds arbitrary numbers and country codes to Normalise, as
// the CRM and self-service bodies do. It must never panic; what it accepts
// is E.164 with a two-letter region, and normalising that again (alone, or
// with the same country) is stable.
func FuzzNormalise(f *testing.F) {
	for _, s := range [][2]string{
		{"07566224395", "GBR"},
		{"07566 224-395", "GBR"},
		{"+447566224395", "GBR"},
		{"+447566224395", ""},
		{"+35799123456", ""},
		{"99123456", "CYP"},
		{"(202) 555-0143", "USA"},
		{"+1 202 555 0143 ext. 12", ""},
		{"+12025550143", "GBR"},
		{"0756", "GBR"},
		{"call me", "GBR"},
		{"07566224395", "GB"},
		{"07566224395", "XYZ"},
		{"07566224395", " gbr"},
		{"", ""},
		{"+", ""},
		{"++447566224395", ""},
		{"+0447566224395", ""},
		{"\uff0b\uff14\uff14\uff17\uff15\uff16\uff16\uff12\uff12\uff14\uff13\uff19\uff15", ""}, // full-width digits
		{"+44 7566 224395;ext=1", ""},
		{"tel:+44-7566-224395", ""},
		{"+6834002", ""},
		{"+80012345678", ""},
		{"+881612345678", ""},
		{"+979123456789", ""},
	} {
		f.Add(s[0], s[1])
	}

	f.Fuzz(func(t *testing.T, number, country string) {
		out, region, err := Normalise(number, country)
		if err != nil {
			if !errors.Is(err, ErrNumber) && !errors.Is(err, ErrCountry) {
				t.Fatalf("Normalise(%q, %q): unexpected error %v", number, country, err)
			}
			if out != "" || region != "" {
				t.Fatalf("Normalise(%q, %q) failed but returned %q, %q", number, country, out, region)
			}
			return
		}
		if !e164.MatchString(out) {
			t.Fatalf("Normalise(%q, %q) = %q, not E.164", number, country, out)
		}
		if len(region) != 2 {
			t.Fatalf("Normalise(%q, %q) region %q", number, country, region)
		}
		again, region2, err := Normalise(out, "")
		if err != nil || again != out || region2 != region {
			t.Fatalf("Normalise(%q, %q) = %q %q, but Normalise(%q, \"\") = %q %q %v",
				number, country, out, region, out, again, region2, err)
		}
		if country != "" {
			again, region2, err := Normalise(out, country)
			if err != nil || again != out || region2 != region {
				t.Fatalf("Normalise(%q, %q) = %q %q, but Normalise(%q, %q) = %q %q %v",
					number, country, out, region, out, country, again, region2, err)
			}
		}
	})
}
