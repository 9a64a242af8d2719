package otp

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Limits of a business's own texts.
const (
	// MaxTemplateLength bounds one text, in characters.
	MaxTemplateLength = 4096
	// MaxTemplateLocales bounds the locales of one key.
	MaxTemplateLocales = 50
	// maxRendered bounds a rendered message, in bytes.
	maxRendered = 16 << 10
)

// DefaultLocale is the locale a business's text falls back on.
const DefaultLocale = "en"

// LocaleTemplates are a business's own texts, by key ("<channel>.<purpose>",
// see TemplateKeys) and BCP 47 locale. They use the data of the built-in
// texts ({{.Code}}, {{.Minutes}}, {{.Purpose}}, {{.Channel}}); for email
// the first line is the subject.
type LocaleTemplates struct {
	byKey map[string]map[string]*template.Template // key → canonical locale → text
}

// TemplateError names a text that cannot be used.
type TemplateError struct {
	Key    string
	Locale string // empty when the key itself is wrong
	Reason string
}

func (e *TemplateError) Error() string {
	if e.Locale == "" {
		return fmt.Sprintf("otp: template %s: %s", e.Key, e.Reason)
	}
	return fmt.Sprintf("otp: template %s (%s): %s", e.Key, e.Locale, e.Reason)
}

// CanonicalLocale returns the canonical form of a BCP 47 tag ("en-gb" →
// "en-GB"), or an error for a malformed one.
func CanonicalLocale(tag string) (string, error) {
	if tag == "" || len(tag) > 35 {
		return "", errors.New("otp: a locale is a BCP 47 tag such as en or fr-CA")
	}
	t, err := language.Parse(tag)
	if err != nil || t == language.Und {
		return "", errors.New("otp: a locale is a BCP 47 tag such as en or fr-CA")
	}
	return t.String(), nil
}

// ParseLocaleTemplates parses a business's texts (key → locale → text),
// refusing (with a *TemplateError) a key that is not in TemplateKeys, a
// malformed locale, one given twice in different spellings, a text that
// does not parse, is too long, does what a message text has no need to
// (range, template, define, call) or renders without the code. Locales
// are kept in their canonical form.
func ParseLocaleTemplates(texts map[string]map[string]string) (*LocaleTemplates, error) {
	t := &LocaleTemplates{byKey: make(map[string]map[string]*template.Template, len(texts))}
	for key, byLocale := range texts {
		if !IsTemplateKey(key) {
			return nil, &TemplateError{Key: key, Reason: "unknown key: want <channel>.<purpose>, e.g. sms.signin"}
		}
		if len(byLocale) > MaxTemplateLocales {
			return nil, &TemplateError{Key: key, Reason: fmt.Sprintf("at most %d locales", MaxTemplateLocales)}
		}
		ch, purpose, _ := strings.Cut(key, ".")
		parsed := make(map[string]*template.Template, len(byLocale))
		for locale, text := range byLocale {
			canon, err := CanonicalLocale(locale)
			if err != nil {
				return nil, &TemplateError{Key: key, Locale: locale, Reason: "not a BCP 47 locale such as en or fr-CA"}
			}
			if _, dup := parsed[canon]; dup {
				return nil, &TemplateError{Key: key, Locale: locale, Reason: "the same locale is given twice"}
			}
			tpl, err := parseOwn(key, text)
			if err != nil {
				return nil, &TemplateError{Key: key, Locale: locale, Reason: err.Error()}
			}
			if err := checkRenders(tpl, Channel(ch), Purpose(purpose)); err != nil {
				return nil, &TemplateError{Key: key, Locale: locale, Reason: err.Error()}
			}
			parsed[canon] = tpl
		}
		if len(parsed) > 0 {
			t.byKey[key] = parsed
		}
	}
	return t, nil
}

func parseOwn(key, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("the text is empty")
	}
	if utf8.RuneCountInString(text) > MaxTemplateLength {
		return nil, fmt.Errorf("the text is longer than %d characters", MaxTemplateLength)
	}
	tpl, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		// The parser's message names the template and line, never data.
		return nil, fmt.Errorf("does not parse: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	if len(tpl.Templates()) > 1 {
		return nil, errors.New("define and block are not allowed")
	}
	if err := plain(tpl.Root); err != nil {
		return nil, err
	}
	return tpl, nil
}

// plain refuses what could make rendering slow or reach beyond the
// message's data: loops (range, also over an integer), other templates,
// and the call function.
func plain(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := plain(c); err != nil {
				return err
			}
		}
	case *parse.RangeNode, *parse.BreakNode, *parse.ContinueNode:
		return errors.New("range is not allowed")
	case *parse.TemplateNode:
		return errors.New("template is not allowed")
	case *parse.ActionNode:
		return plain(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := plain(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := plain(a); err != nil {
				return err
			}
		}
	case *parse.IdentifierNode:
		if n.Ident == "call" {
			return errors.New("call is not allowed")
		}
	case *parse.ChainNode:
		return plain(n.Node)
	case *parse.IfNode:
		return plainBranch(&n.BranchNode)
	case *parse.WithNode:
		return plainBranch(&n.BranchNode)
	}
	return nil
}

func plainBranch(b *parse.BranchNode) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := plain(n); err != nil {
			return err
		}
	}
	return nil
}

// checkRenders renders tpl with two sample codes: each must appear, so
// the text shows {{.Code}} (not a number that happens to look like one).
func checkRenders(tpl *template.Template, ch Channel, p Purpose) error {
	for _, code := range []string{"482913", "705166"} {
		subject, body, err := execute(tpl, ch, p, code, 5)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "otp: "))
		}
		if !strings.Contains(subject+"\n"+body, code) {
			return errors.New("the text does not contain {{.Code}}")
		}
	}
	return nil
}

// pick returns the most specific text of key for locale: the exact tag,
// then the tag with its last subtags dropped one by one (fr-CA → fr),
// then DefaultLocale; nil when the business has none of them.
func (t *LocaleTemplates) pick(key, locale string) *template.Template {
	if t == nil {
		return nil
	}
	byLocale := t.byKey[key]
	if len(byLocale) == 0 {
		return nil
	}
	if canon, err := CanonicalLocale(locale); err == nil {
		for tag := canon; tag != ""; {
			if tpl, ok := byLocale[tag]; ok {
				return tpl
			}
			i := strings.LastIndexByte(tag, '-')
			if i < 0 {
				break
			}
			tag = tag[:i]
		}
	}
	return byLocale[DefaultLocale]
}

// limitedWriter fails once more than n bytes are written.
type limitedWriter struct {
	b strings.Builder
	n int
}

var errTooLong = errors.New("the rendered text is too long")

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.n {
		return 0, errTooLong
	}
	return w.b.Write(p)
}
