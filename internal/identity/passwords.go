package identity

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// commonPasswords is a small deny-list of the most used passwords (from
// public breach corpora); anything on it is refused whatever its length.
var commonPasswords = denyList(`
123456 123456789 12345678 password qwerty123 qwerty1 111111 12345 secret 123123
1234567890 1234567 000000 qwerty abc123 password1 iloveyou 1q2w3e4r 654321 dragon
monkey 123321 qwertyuiop 1qaz2wsx 666666 987654321 121212 sunshine princess letmein
football baseball welcome welcome1 admin admin123 administrator passw0rd password123
password1234 changeme trustno1 master hello123 freedom whatever qazwsx michael shadow
superman batman starwars zaq12wsx 1q2w3e4r5t 1234qwer qwer1234 asdfghjkl 1234554321
11111111 00000000 88888888 123qwe 123abc abcd1234 aa123456 target123 summer2024
winter2024 spring2024 autumn2024 summer2025 winter2025 p@ssw0rd p@ssword pa$$word
letmein1 iloveyou1 q1w2e3r4 q1w2e3r4t5 987654321a mypassword mypassword1 loveme
football1 charlie donald password! password01 qwerty12 qwerty1234 asdf1234 asdfasdf
zxcvbnm zxcvbnm123 1111111111 0987654321 11223344 12341234 1234512345 123456789a
correcthorsebatterystaple companyname changeme123 default default123 guest guest123`)

func denyList(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// CheckPassword applies the password policy to a new password.
func (s *Service) CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < s.cfg.PasswordMinLength:
		return &ValidationError{Field: "password", Message: "The password must be at least " + strconv.Itoa(s.cfg.PasswordMinLength) + " characters."}
	case len(pw) > 256:
		return &ValidationError{Field: "password", Message: "The password must be at most 256 bytes."}
	case commonPasswords[strings.ToLower(pw)]:
		return &ValidationError{Field: "password", Message: "The password is too common."}
	}
	return nil
}
