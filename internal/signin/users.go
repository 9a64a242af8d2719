package signin

import (
	"context"
	"errors"
	"time"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/token"
)

// Codes issues and checks the one-time codes of users' password resets
// (package otp).
type Codes interface {
	Issue(ctx context.Context, r otp.Request) (otp.Issued, error)
	VerifyFor(ctx context.Context, id, code, businessID string, mode store.Mode, purposes ...otp.Purpose) (otp.Verified, error)
}

// UseCodes installs the one-time code service.
func (s *Service) UseCodes(c Codes) { s.codes = c }

// ErrNoSuchSession: the user has no live session with that id.
var ErrNoSuchSession = errors.New("signin: no such session")

// RequestUserPasswordReset sends a password reset code to a back-office
// user's email. The answer is the same whether or not an enabled user
// signs in with it (limits, a stored code, similar latency); nothing is
// sent when none does. Users' codes belong to the service owner's
// organisation, in live mode: they are never a business's.
func (s *Service) RequestUserPasswordReset(ctx context.Context, email string) (otp.Issued, error) {
	e, u, err := s.identity.UserToReset(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return otp.Issued{}, err
	}
	root, rerr := s.identity.ServiceOwner(ctx)
	if rerr != nil {
		return otp.Issued{}, rerr
	}
	req := otp.Request{BusinessID: root.ID, Mode: store.ModeLive, IP: audit.MetaFrom(ctx).IP,
		Channel: otp.ChannelEmail, To: e, Purpose: otp.PurposeUserPasswordReset}
	if err == nil {
		req.Deliver = true
		req.Data = map[string]string{"user_id": u.ID, "email": u.Email}
	}
	return s.codes.Issue(ctx, req)
}

// UserPasswordReset completes a user's password reset: the code proves
// the email, the password (its policy checked before the code is spent,
// its argon2id hash made after: wrong codes cost no hashing) replaces
// theirs, every session and access token the user had ends, and the user
// is signed in.
func (s *Service) UserPasswordReset(ctx context.Context, c Client, otpID, code, password string) (Result, error) {
	if err := s.identity.CheckPassword(password); err != nil {
		return Result{}, err
	}
	root, err := s.identity.ServiceOwner(ctx)
	if err != nil {
		return Result{}, err
	}
	v, err := s.codes.VerifyFor(ctx, otpID, code, root.ID, store.ModeLive, otp.PurposeUserPasswordReset)
	if err != nil {
		return Result{}, selfservice.CodeError(err)
	}
	hash, err := s.identity.HashPassword(password)
	if err != nil {
		return Result{}, err
	}
	userID := v.Data["user_id"]
	err = s.identity.ResetUserPassword(ctx, userID, v.Data["email"], hash)
	if errors.Is(err, store.ErrNotFound) { // disabled, or the email changed, meanwhile
		return Result{}, selfservice.ErrOTPExpired
	}
	if err != nil {
		return Result{}, err
	}
	if err := s.endEverySession(ctx, Principal{Kind: store.KindUser, ID: userID}); err != nil {
		return Result{}, err
	}
	p, err := s.UserPrincipal(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	return s.complete(ctx, p, c, nil, "password_reset", nil)
}

// ChangeUserPassword replaces the password of the user an access token
// belongs to, and ends every other session of theirs (the token's own
// family stays).
func (s *Service) ChangeUserPassword(ctx context.Context, claims token.Claims, current, next string) error {
	if err := s.identity.ChangeUserPassword(ctx, claims.Subject, current, next); err != nil {
		return err
	}
	return s.refresh.EndFamilies(ctx, store.SubjectSessions{Kind: store.KindUser, ID: claims.Subject, Except: claims.Family})
}

// UserSessions lists the live sessions (refresh families) of userID,
// newest sign-in first. The actor must be the user or manage them.
func (s *Service) UserSessions(ctx context.Context, a identity.Actor, userID string) ([]store.RefreshSession, error) {
	if err := s.identity.CanManageUser(ctx, a, userID); err != nil {
		return nil, err
	}
	return s.refresh.Sessions(ctx, store.SubjectSessions{Kind: store.KindUser, ID: userID}, s.lifetimesOf)
}

// EndUserSession ends one session of userID (its refresh family and the
// access tokens issued with it), on every replica; ErrNoSuchSession when
// the user has no such live session. The actor must be the user or
// manage them.
func (s *Service) EndUserSession(ctx context.Context, a identity.Actor, userID, sessionID string) error {
	if err := s.identity.CanManageUser(ctx, a, userID); err != nil {
		return err
	}
	err := s.refresh.EndSession(ctx, store.SubjectSessions{Kind: store.KindUser, ID: userID, Family: sessionID})
	if errors.Is(err, refresh.ErrInvalid) {
		return ErrNoSuchSession
	}
	if err != nil {
		return err
	}
	s.sessionsEnded(ctx, a, userID, map[string]string{"session_id": sessionID})
	return nil
}

// EndUserSessions ends every session of userID but except (empty: all),
// on every replica. The actor must be the user or manage them.
func (s *Service) EndUserSessions(ctx context.Context, a identity.Actor, userID, except string) error {
	if err := s.identity.CanManageUser(ctx, a, userID); err != nil {
		return err
	}
	if err := s.refresh.EndFamilies(ctx, store.SubjectSessions{Kind: store.KindUser, ID: userID, Except: except}); err != nil {
		return err
	}
	details := map[string]string{"scope": "all"}
	if except != "" {
		details = map[string]string{"scope": "all_but_current"}
	}
	s.sessionsEnded(ctx, a, userID, details)
	return nil
}

func (s *Service) sessionsEnded(ctx context.Context, a identity.Actor, userID string, details map[string]string) {
	s.audit.Record(ctx, store.AuditEvent{Action: audit.SessionsEnded, Success: true, ActorKind: store.KindUser, ActorID: a.UserID,
		OrganisationID: a.Org, TargetKind: store.KindUser, TargetID: userID, Details: details})
}

// endEverySession ends every session of p (a password reset): its
// refresh families, and every access token issued to p before this
// second, those of clients that issue no refresh token too, on every
// replica. Tokens issued within this second stay (a token's iat counts
// whole seconds): the tokens of the sign-in that follows are among them.
func (s *Service) endEverySession(ctx context.Context, p Principal) error {
	kind, key := store.RevokeUser, p.ID
	if p.Kind == store.KindContact {
		kind, key = store.RevokeContact, store.ContactKey(p.Org, p.Mode, p.ID)
	}
	if err := s.refresh.EndFamilies(ctx, sessionsOf(p, "")); err != nil {
		return err
	}
	through := s.tokens.Now().Truncate(time.Second).Add(-time.Second)
	return s.tokens.RevokeSubjectThrough(ctx, kind, key, through, s.cfg.MaxAccessTokenTTL)
}
