package sender

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// DevLogMessage is the message of the log sender's lines.
const DevLogMessage = "development sender: never use in production"

// Log is the development sender (`authd serve --dev`): it delivers nothing
// and writes each code to the log at Info level, in the field dev_otp_code,
// with the destination masked. It is the only place authd logs a code.
type Log struct {
	logger *slog.Logger
}

var _ Sender = (*Log)(nil)

// NewLog returns the log sender.
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{logger: logger}
}

// Send implements Sender; it never fails.
func (l *Log) Send(ctx context.Context, m Message) error {
	l.logger.LogAttrs(ctx, slog.LevelInfo, DevLogMessage,
		slog.String("otp_id", m.OTPID),
		slog.String("channel", m.Channel),
		slog.String("to", Mask(m.To)),
		slog.String("purpose", m.Purpose),
		slog.String("expires_at", m.ExpiresAt.UTC().Format(time.RFC3339)),
		slog.String("dev_otp_code", m.Code),
	)
	return nil
}

// ErrUnconfigured is what Unconfigured answers.
var ErrUnconfigured = errors.New("sender: no OTP sender is configured (otp.sender log is for serve --dev only)")

// Unconfigured stands in for the log sender outside `serve --dev`: a code
// must never reach a production log, so nothing is sent and every request
// fails alike (the OTP service checks Unconfigured before it looks at the
// destination, so known and unknown ones answer the same).
type Unconfigured struct{}

var _ Sender = Unconfigured{}

// Send implements Sender; it always fails.
func (Unconfigured) Send(context.Context, Message) error { return ErrUnconfigured }
