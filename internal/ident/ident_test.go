package ident_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authd/authd/internal/ident"
)

func TestEmail(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{name: "plain", in: "admin@example.com", want: "admin@example.com"},
		{name: "trimmed and lower-cased", in: "  Admin@Example.COM\t", want: "admin@example.com"},
		{name: "fullwidth local part", in: "ａｄｍｉｎ@example.com", want: "admin@example.com"},
		{name: "fullwidth everything", in: "ＡＤＭＩＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ", want: "admin@example.com"},
		{name: "mathematical bold", in: "𝐚𝐝𝐦𝐢𝐧@example.com", want: "admin@example.com"},
		{name: "kelvin sign", in: "\u212a@example.com", want: "k@example.com"},
		{name: "decomposed accent composes", in: "jose\u0301@example.com", want: "josé@example.com"},
		{name: "accented Latin", in: "José@Example.com", want: "josé@example.com"},
		{name: "common characters", in: "a+tag_1.x-y@sub-1.example.co.uk", want: "a+tag_1.x-y@sub-1.example.co.uk"},
		{name: "Cyrillic IDN", in: "Иван@Пример.рф", want: "иван@пример.рф"},
		{name: "Latin local part, Cyrillic domain", in: "ivan@пример.рф", want: "ivan@пример.рф"},
		{name: "Greek throughout", in: "αλφα@παράδειγμα.δοκιμή", want: "αλφα@παράδειγμα.δοκιμή"},
		{name: "Han", in: "用户@例子.广告", want: "用户@例子.广告"},
		{name: "Japanese with Latin", in: "abcテスト漢字@example.jp", want: "abcテスト漢字@example.jp"},
		{name: "Devanagari with its marks", in: "info@हिंदी.भारत", want: "info@हिंदी.भारत"},

		{name: "zero-width space", in: "ad\u200bmin@example.com", err: ident.ErrInvisible},
		{name: "soft hyphen", in: "ad\u00admin@example.com", err: ident.ErrInvisible},
		{name: "zero-width joiner in the domain", in: "admin@exa\u200dmple.com", err: ident.ErrInvisible},
		{name: "left-to-right mark", in: "\u200eadmin@example.com", err: ident.ErrInvisible},
		{name: "right-to-left override", in: "admin\u202e@example.com", err: ident.ErrInvisible},
		{name: "word joiner", in: "adm\u2060in@example.com", err: ident.ErrInvisible},
		{name: "invisible plus", in: "admin\u2064@example.com", err: ident.ErrInvisible},
		{name: "byte-order mark", in: "\ufeffadmin@example.com", err: ident.ErrInvisible},
		{name: "Hangul filler", in: "\u3164admin@example.com", err: ident.ErrInvisible},
		{name: "variation selector", in: "admin\ufe0f@example.com", err: ident.ErrInvisible},
		{name: "combining grapheme joiner", in: "adm\u034fin@example.com", err: ident.ErrInvisible},
		{name: "tag character", in: "admin\U000E0041@example.com", err: ident.ErrInvisible},
		{name: "control character", in: "ad\x01min@example.com", err: ident.ErrInvisible},
		{name: "inner space", in: "ad min@example.com", err: ident.ErrInvisible},
		{name: "no-break space", in: "ad\u00a0min@example.com", err: ident.ErrInvisible},
		{name: "ideographic space", in: "ad\u3000min@example.com", err: ident.ErrInvisible},
		{name: "stray combining dot on i", in: "i\u0307@example.com", err: ident.ErrInvisible},
		{name: "private use", in: "ad\ue000min@example.com", err: ident.ErrInvisible},
		{name: "unassigned", in: "ad\u0378min@example.com", err: ident.ErrInvisible},
		{name: "invalid UTF-8", in: "ad\xffmin@example.com", err: ident.ErrInvisible},

		{name: "Cyrillic a in a Latin local part", in: "\u0430dmin@example.com", err: ident.ErrMixedScript},
		{name: "Cyrillic e in a Latin domain label", in: "admin@\u0435xample.com", err: ident.ErrMixedScript},
		{name: "Greek omicron in a Latin local part", in: "r\u03bfot@example.com", err: ident.ErrMixedScript},
		{name: "Latin o in a Cyrillic label", in: "ivan@пpимep.рф", err: ident.ErrMixedScript},
		{name: "fullwidth then Cyrillic", in: "ａｄｍ\u0456ｎ@example.com", err: ident.ErrMixedScript},

		{name: "empty", in: "", err: ident.ErrInvalid},
		{name: "no at", in: "admin", err: ident.ErrInvalid},
		{name: "no local part", in: "@example.com", err: ident.ErrInvalid},
		{name: "no domain", in: "admin@", err: ident.ErrInvalid},
		{name: "no dot in the domain", in: "admin@localhost", err: ident.ErrInvalid},
		{name: "two ats", in: "a@b@example.com", err: ident.ErrInvalid},
		{name: "display name", in: "Admin<admin@example.com>", err: ident.ErrInvalid},
		{name: "display name with a space", in: "Admin <admin@example.com>", err: ident.ErrInvisible},
		{name: "quoted local part", in: `"admin"@example.com`, err: ident.ErrInvalid},
		{name: "empty label", in: "admin@example..com", err: ident.ErrInvalid},
		{name: "too long", in: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", err: ident.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ident.Email(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || got != "" {
					t.Fatalf("Email(%q) = %q, %v; want %v", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Email(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if again, err := ident.Email(got); err != nil || again != got {
				t.Fatalf("Email is not idempotent: Email(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, ok := range []string{"", "Jimmy", "Mary Ann", "José", "Jose\u0301", "O'Brien-Smith", "山田\u3000太郎", "Иван", "CRM-9/2024"} {
		if err := ident.Text(ok); err != nil {
			t.Errorf("Text(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"Ji\u200bmmy", "Jimmy\u00ad", "\u202eymmiJ", "Jim\nmy", "Jim\tmy", "Jim\u2028my", "\ufeffJimmy",
		"\u3164", "Jim\u2060my", "Jim\ue000", "Jim\U000E0041", "Jim\u0378", "Jim\xffmy"} {
		if err := ident.Text(bad); !errors.Is(err, ident.ErrInvisible) {
			t.Errorf("Text(%q) = %v, want ErrInvisible", bad, err)
		}
	}
}

func TestStripInvisible(t *testing.T) {
	for in, want := range map[string]string{
		"Jimmy":                   "Jimmy",
		"Ji\u200bm\u00adm\u2060y": "Jimmy",
		"\ufeffMary Ann\u200e":    "Mary Ann",
		"Jim\xffmy":               "Jimmy",
	} {
		got := ident.StripInvisible(in)
		if got != want || ident.Text(got) != nil {
			t.Errorf("StripInvisible(%q) = %q, want %q", in, got, want)
		}
	}
}
