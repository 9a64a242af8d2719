package integrations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/store"
)

var _ otp.Deliveries = (*Service)(nil)

// entry is a cached answer of Delivery: a delivery, none (ok false), or
// a configuration that cannot be used (broken).
type entry struct {
	d      otp.Delivery
	ok     bool
	broken error
}

// errBroken: the stored configuration cannot be used (its secrets do not
// open with this system secret). The business's codes fail rather than
// leave through another sender.
var errBroken = errors.New("integrations: the business's OTP integration cannot be used")

// Delivery implements otp.Deliveries: the business's delivery in mode,
// from this replica's cache (read again after CacheTTL or a change; while
// the database fails, the last good copy for StaleIfError).
func (s *Service) Delivery(ctx context.Context, businessID string, mode store.Mode) (otp.Delivery, bool, error) {
	k := key{org: businessID, mode: mode}
	e, err := s.deliveries.Get(ctx, k, func(ctx context.Context) (entry, error) {
		row, err := s.o.Store.GetOTPIntegration(ctx, businessID, mode)
		if errors.Is(err, store.ErrNotFound) {
			return entry{}, nil
		}
		if err != nil {
			return entry{}, err
		}
		d, err := s.build(row)
		if err != nil {
			s.o.Logger.LogAttrs(ctx, slog.LevelError, "integrations: stored OTP integration cannot be used; the business's codes fail until it is configured again",
				slog.String("organisation_id", businessID), slog.String("mode", string(mode)), slog.Any("error", err))
			return entry{broken: err}, nil
		}
		return entry{d: d, ok: true}, nil
	})
	switch {
	case err != nil:
		return otp.Delivery{}, false, err
	case e.broken != nil:
		return otp.Delivery{}, false, fmt.Errorf("%w: %w", otp.ErrDeliveryFailed, errBroken)
	}
	return e.d, e.ok, nil
}

// build makes the senders and texts of a stored configuration.
func (s *Service) build(row store.OTPIntegration) (otp.Delivery, error) {
	v, err := s.open(row)
	if err != nil {
		return otp.Delivery{}, err
	}
	snd, carries, err := s.senders(v)
	if err != nil {
		return otp.Delivery{}, err
	}
	tpl, err := otp.ParseLocaleTemplates(v.settings.Templates)
	if err != nil {
		return otp.Delivery{}, err
	}
	return otp.Delivery{
		Sender: snd, Carries: carries, Templates: tpl,
		Key: fmt.Sprintf("%s/%s/%d", row.OrganisationID, row.Mode, row.Version),
	}, nil
}

// senders builds the configuration's sender: the webhook carries both
// channels; smtp carries email and twilio SMS, each with the other's
// channel too when its section is there (as the service-wide senders).
func (s *Service) senders(v stored) (sender.Sender, func(otp.Channel) bool, error) {
	var (
		email, sms sender.Sender
		err        error
	)
	switch v.sender {
	case SenderWebhook:
		w, err := sender.NewWebhook(v.settings.WebhookURL, []byte(v.secrets.WebhookSecret), s.webhookClient, s.o.Logger)
		if err != nil {
			return nil, nil, err
		}
		return w.WithText(), nil, nil
	case SenderSMTP, SenderTwilio:
	default:
		return nil, nil, fmt.Errorf("integrations: unknown sender %q", v.sender)
	}
	if sm := v.settings.SMTP; sm != nil {
		email, err = sender.NewSMTPWithOptions(config.SMTP{Host: sm.Host, Port: sm.Port, Username: sm.Username,
			Password: v.secrets.SMTPPassword, From: sm.From, TLS: sm.TLS}, s.o.Logger,
			sender.SMTPOptions{Control: s.control(), RootCAs: s.o.RootCAs})
		if err != nil {
			return nil, nil, err
		}
	}
	if tw := v.settings.Twilio; tw != nil {
		sms, err = sender.NewTwilio(config.Twilio{AccountSID: tw.AccountSID, AuthToken: v.secrets.TwilioAuthToken,
			From: tw.From, MessagingServiceSID: tw.MessagingServiceSID, BaseURL: s.o.TwilioBaseURL}, s.twilioClient, s.o.Logger)
		if err != nil {
			return nil, nil, err
		}
	}
	by := sender.ByChannel{}
	if email != nil {
		by[sender.ChannelEmail] = email
	}
	if sms != nil {
		by[sender.ChannelSMS] = sms
	}
	return by, func(ch otp.Channel) bool { return by[string(ch)] != nil }, nil
}

func otpChannel(ch string) otp.Channel { return otp.Channel(ch) }
