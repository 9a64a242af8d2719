// Package phone normalises phone numbers to E.164 with libphonenumber's
// rules (github.com/nyaruka/phonenumbers): a national number plus an ISO
// 3166 alpha-3 country code, as the CRM sends them, or an international
// number.
package phone

import (
	"errors"
	"strings"

	"github.com/biter777/countries"
	"github.com/nyaruka/phonenumbers"
)

var (
	// ErrCountry: the country code is not an ISO 3166 alpha-3 code.
	ErrCountry = errors.New("phone: unknown country code")
	// ErrNumber: not a valid number for that country.
	ErrNumber = errors.New("phone: invalid phone number")
)

// Normalise returns the E.164 form of number and its ISO 3166 alpha-2
// region. countryAlpha3 may be empty when number is international (+…).
// Numbers of no country (libphonenumber's non-geographic entities, region
// "001": +800 freephone, +881 satellite, +979 premium rate…) are refused.
func Normalise(number, countryAlpha3 string) (e164, region string, err error) {
	number = strings.TrimSpace(number)
	if number == "" || len(number) > 32 {
		return "", "", ErrNumber
	}
	if countryAlpha3 != "" {
		c := countries.ByName(strings.ToUpper(strings.TrimSpace(countryAlpha3)))
		if c == countries.Unknown || len(countryAlpha3) != 3 || c.Alpha3() != strings.ToUpper(strings.TrimSpace(countryAlpha3)) {
			return "", "", ErrCountry
		}
		region = c.Alpha2()
	} else if !strings.HasPrefix(number, "+") {
		return "", "", ErrCountry
	}
	n, err := phonenumbers.Parse(number, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", "", ErrNumber
	}
	got := phonenumbers.GetRegionCodeForNumber(n)
	if len(got) != 2 {
		// a non-geographic number (+800 freephone, +881/+882 satellite
		// and other networks: libphonenumber's region "001") belongs to no
		// country, so it has no alpha-2 region to return
		return "", "", ErrNumber
	}
	if region != "" && got != region {
		// an international number of another country than declared
		return "", "", ErrNumber
	}
	e164 = phonenumbers.Format(n, phonenumbers.E164)
	if len(e164) > 16 {
		// E.164 allows at most 15 digits; libphonenumber's metadata accepts
		// longer German numbers that no SMS gateway delivers to
		return "", "", ErrNumber
	}
	return e164, got, nil
}
