package otp

import (
	"fmt"
	"strings"
	"text/template"
	"time"
)

// expires is the shared last sentence of the built-in texts.
const expires = `It expires in {{.Minutes}} minute{{if ne .Minutes 1}}s{{end}}.`

// builtinTemplates are the default texts, keyed "<channel>.<purpose>". For
// email the first line is the subject.
var builtinTemplates = map[string]string{
	"sms.signin":              "Your code is {{.Code}}. " + expires,
	"sms.register":            "Your verification code is {{.Code}}. " + expires,
	"sms.add_credentials":     "Your code to add a sign-in method is {{.Code}}. " + expires,
	"sms.register_existing":   "You already have an account. Your sign-in code is {{.Code}}. " + expires,
	"sms.password_reset":      "Your password reset code is {{.Code}}. " + expires,
	"sms.user_password_reset": "Your back-office password reset code is {{.Code}}. " + expires,

	"email.signin": "Your sign-in code\n\nYour code is {{.Code}}.\n\n" + expires +
		"\nIf you did not ask to sign in, ignore this email.\n",
	"email.register": "Confirm your email address\n\nYour verification code is {{.Code}}.\n\n" + expires +
		"\nIf you did not ask to register, ignore this email.\n",
	"email.add_credentials": "Add a sign-in method\n\nYour code to add a sign-in method is {{.Code}}.\n\n" + expires +
		"\nIf you did not ask for it, ignore this email; nothing changes without this code.\n",
	"email.register_existing": "You already have an account\n\nSomeone, probably you, tried to register with this address, " +
		"which already has an account. Nothing was changed.\n\nTo sign in to your account, your code is {{.Code}}.\n\n" + expires +
		"\nIf it was not you, ignore this email.\n",
	"email.password_reset": "Reset your password\n\nYour password reset code is {{.Code}}.\n\n" + expires +
		"\nIf you did not ask to reset your password, ignore this email; your password stays as it is.\n",
	"email.user_password_reset": "Reset your back-office password\n\nYour password reset code is {{.Code}}.\n\n" + expires +
		"\nIf you did not ask to reset your password, ignore this email; your password stays as it is, " +
		"and nobody can sign in with this code alone.\n",

	// Organisation sign-up (back office): the owner's email is proved by
	// the code; an email that already has an account gets a code that
	// creates nothing.
	"sms.organisation_register":          "Your code to confirm your organisation's sign-up is {{.Code}}. " + expires,
	"sms.organisation_register_existing": "You already have an account, so no new one was created. Your code is {{.Code}}. " + expires,
	"email.organisation_register": "Confirm your organisation's sign-up\n\nYour code to confirm this email address and create " +
		"your organisation is {{.Code}}.\n\n" + expires + "\nIf you did not sign up, ignore this email; nothing is created without this code.\n",
	"email.organisation_register_existing": "You already have an account\n\nSomeone, probably you, tried to sign an organisation up " +
		"with this address, which already has an account. Nothing was created or changed.\n\nSign in with your existing account " +
		"instead (or reset its password). For the record, the code of this attempt is {{.Code}}; it creates nothing.\n\n" + expires +
		"\nIf it was not you, ignore this email.\n",
}

// templateData is what a template sees.
type templateData struct {
	Code    string
	Minutes int
	Purpose string
	Channel string
}

// templates holds the parsed texts (built-ins with overrides applied).
type templates struct {
	byKey   map[string]*template.Template
	minutes int
}

// parseTemplates parses the built-ins and the overrides, and renders each
// once with sample data so a broken override fails at start-up, not on a
// user's request.
func parseTemplates(overrides map[string]string, ttl time.Duration) (*templates, error) {
	t := &templates{
		byKey:   map[string]*template.Template{},
		minutes: max(1, int((ttl+time.Minute-1)/time.Minute)),
	}
	texts := make(map[string]string, len(builtinTemplates)+len(overrides))
	for k, v := range builtinTemplates {
		texts[k] = v
	}
	for k, v := range overrides {
		ch, purpose, ok := strings.Cut(k, ".")
		if !ok || (ch != string(ChannelSMS) && ch != string(ChannelEmail)) || purpose == "" {
			return nil, fmt.Errorf("otp: template key %q must be sms.<purpose> or email.<purpose>", k)
		}
		texts[k] = v
	}
	for k, text := range texts {
		tpl, err := template.New(k).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("otp: template %s: %w", k, err)
		}
		t.byKey[k] = tpl
		ch, purpose, _ := strings.Cut(k, ".")
		subject, body, err := t.render(Channel(ch), Purpose(purpose), "123456")
		if err != nil {
			return nil, err
		}
		if !strings.Contains(subject+body, "123456") {
			return nil, fmt.Errorf("otp: template %s does not contain {{.Code}}", k)
		}
	}
	return t, nil
}

// render returns the subject (email only) and body of a message.
func (t *templates) render(ch Channel, p Purpose, code string) (subject, body string, err error) {
	key := string(ch) + "." + string(p)
	tpl, ok := t.byKey[key]
	if !ok {
		return "", "", fmt.Errorf("otp: no template %s", key)
	}
	return execute(tpl, ch, p, code, t.minutes)
}

// execute renders tpl (at most maxRendered bytes) and splits an email's
// subject from its body.
func execute(tpl *template.Template, ch Channel, p Purpose, code string, minutes int) (subject, body string, err error) {
	w := &limitedWriter{n: maxRendered}
	if err := tpl.Execute(w, templateData{Code: code, Minutes: minutes, Purpose: string(p), Channel: string(ch)}); err != nil {
		return "", "", fmt.Errorf("otp: template %s: %w", tpl.Name(), err)
	}
	text := w.b.String()
	if ch != ChannelEmail {
		return "", strings.TrimSpace(text), nil
	}
	first, rest, _ := strings.Cut(strings.TrimLeft(text, "\r\n"), "\n")
	subject = strings.TrimSpace(first)
	body = strings.TrimLeft(rest, "\r\n")
	if strings.TrimSpace(body) == "" {
		body = subject
	}
	return subject, body, nil
}
