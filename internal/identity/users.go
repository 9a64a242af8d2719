package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/store"
)

// Limit counts one attempt against key in the shared state; over the
// limit it returns a RateLimitedError. Credential checks and sign-ups
// count through it; a key naming a person (an email) is HashKey'd first.
func (s *Service) Limit(ctx context.Context, key string, l cache.Limit) error {
	res, err := s.cache.Allow(ctx, key, l)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return &RateLimitedError{RetryAfter: res.RetryAfter}
	}
	return nil
}

// HashKey names s (an email, an account) in cache keys without writing
// it there.
func HashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// CheckPasswordRate counts one password check for the account and the
// client IP (from the request metadata in ctx); the same limits apply
// whether or not the account exists.
func (s *Service) CheckPasswordRate(ctx context.Context, account string) error {
	if ip := audit.MetaFrom(ctx).IP; ip != "" {
		if err := s.Limit(ctx, "rl:pw:ip:"+ip, cache.PerMinute(s.cfg.IPAttemptsPerMinute)); err != nil {
			return err
		}
	}
	return s.Limit(ctx, "rl:pw:acct:"+HashKey(account), cache.PerHour(s.cfg.AccountAttemptsPerHour))
}

// AuthenticateUser checks a back-office user's email and password. Unknown
// accounts cost the same argon2id work as known ones and get the same
// error; a hash with outdated parameters (or an imported bcrypt hash) is
// replaced after a successful check.
//
// email is the username of the back-office sign-in and the password
// grant: its normal form is looked up (signInEmail), and a look-alike
// spelling is a ValidationError on field username.
func (s *Service) AuthenticateUser(ctx context.Context, email, pw string) (store.User, error) {
	email, err := signInEmail(email, "username")
	if err != nil {
		return store.User{}, err
	}
	if err := s.CheckPasswordRate(ctx, "user:"+email); err != nil {
		var rl *RateLimitedError
		if errors.As(err, &rl) {
			s.audit.Record(ctx, store.AuditEvent{Action: audit.UserSignInFailed, ActorKind: store.KindUser,
				Details: map[string]string{"reason": "rate_limited"}})
		}
		return store.User{}, err
	}
	u, err := s.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		s.hasher.Dummy(pw)
		s.audit.Record(ctx, store.AuditEvent{Action: audit.UserSignInFailed, ActorKind: store.KindUser,
			Details: map[string]string{"reason": "unknown_account"}})
		return store.User{}, ErrInvalidCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	rehash, verr := s.hasher.Verify(pw, u.PasswordHash)
	if verr != nil || u.Disabled {
		reason := "wrong_password"
		if verr == nil {
			reason = "disabled"
		}
		s.audit.Record(ctx, store.AuditEvent{Action: audit.UserSignInFailed, ActorKind: store.KindUser, ActorID: u.ID,
			OrganisationID: s.userOrg(ctx, u.ID), TargetKind: store.KindUser, TargetID: u.ID, Details: map[string]string{"reason": reason}})
		return store.User{}, ErrInvalidCredentials
	}
	if rehash {
		if h, err := s.hasher.Hash(pw); err == nil {
			err = s.st.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
				old.PasswordHash = h
				return old, nil
			})
			if err != nil {
				s.logger.WarnContext(ctx, "identity: cannot upgrade a password hash", "user_id", u.ID, "error", err)
			} else {
				u.PasswordHash = h
			}
		}
	}
	return u, nil
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email       string
	Password    string
	FirstName   string
	LastName    string
	Memberships []store.Membership // OrganisationID and Role; the first is the default
}

// CreateUser creates a user with memberships. Every organisation granted
// must lie within the actor's token scope, the actor must be an admin or
// owner of it, and may not grant a role above their own there.
func (s *Service) CreateUser(ctx context.Context, a Actor, in NewUser) (store.User, error) {
	if err := s.checkUser(&in); err != nil {
		return store.User{}, err
	}
	if len(in.Memberships) == 0 {
		return store.User{}, &ValidationError{Field: "memberships", Message: "At least one membership is required."}
	}
	seen := map[string]bool{}
	for i, m := range in.Memberships {
		if !ValidRole(m.Role) {
			return store.User{}, &ValidationError{Field: "memberships[" + strconv.Itoa(i) + "].role", Message: "The role must be owner, admin or member."}
		}
		if seen[m.OrganisationID] {
			return store.User{}, &ValidationError{Field: "memberships[" + strconv.Itoa(i) + "].organisation_id", Message: "An organisation is listed twice."}
		}
		seen[m.OrganisationID] = true
		if err := s.inScope(ctx, a, m.OrganisationID); err != nil {
			return store.User{}, err
		}
		g, err := s.RoleIn(ctx, a.UserID, m.OrganisationID)
		if err != nil {
			return store.User{}, err
		}
		if !AtLeast(g.Role, RoleAdmin) || roleRank(m.Role) > roleRank(g.Role) {
			return store.User{}, ErrForbidden
		}
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return store.User{}, err
	}
	now := s.now().UTC()
	u := store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: in.Email, PasswordHash: hash,
		FirstName: in.FirstName, LastName: in.LastName, CreatedAt: now, UpdatedAt: now}
	err = s.st.Tx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for i, m := range in.Memberships {
			m.UserID, m.IsDefault, m.CreatedAt = u.ID, i == 0, now
			if err := tx.CreateMembership(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrConflict
	}
	if err != nil {
		return store.User{}, err
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.UserCreated, Success: true, ActorKind: store.KindUser, ActorID: a.UserID,
		OrganisationID: in.Memberships[0].OrganisationID, TargetKind: store.KindUser, TargetID: u.ID})
	return u, nil
}

// checkUser normalises a new user's email and applies the password
// policy and the name rules (at most 100 characters each, no invisible
// characters). Fields are named "email", "password", "first_name" and
// "last_name".
func (s *Service) checkUser(in *NewUser) error {
	email, err := NormaliseEmail(in.Email, "email")
	if err != nil {
		return err
	}
	in.Email = email
	if err := s.CheckPassword(in.Password); err != nil {
		return err
	}
	if len(in.FirstName) > 100 {
		return &ValidationError{Field: "first_name", Message: "Names must be at most 100 characters."}
	}
	if len(in.LastName) > 100 {
		return &ValidationError{Field: "last_name", Message: "Names must be at most 100 characters."}
	}
	return checkText([2]string{"first_name", in.FirstName}, [2]string{"last_name", in.LastName})
}

// DisableUser disables a user and ends their refresh-token families at
// once (revoke is called by the caller's refresh service through
// OnUserDisabled). The actor must be able to manage the user (manageable: every
// membership within the token scope, admin or owner there), and may not
// disable themselves.
func (s *Service) DisableUser(ctx context.Context, a Actor, userID string) error {
	if a.UserID == userID {
		return &ValidationError{Field: "id", Message: "You cannot disable yourself."}
	}
	ms, err := s.manageable(ctx, a, userID)
	if err != nil {
		return err
	}
	var org string
	for _, m := range ms {
		if m.IsDefault || org == "" {
			org = m.OrganisationID
		}
	}
	err = s.st.UpdateUser(ctx, userID, func(u store.User) (store.User, error) {
		u.Disabled = true
		return u, nil
	})
	if err != nil {
		return err
	}
	s.invalidate(ctx, userID)
	if s.onDisable != nil {
		if err := s.onDisable(ctx, userID); err != nil {
			return err
		}
	}
	s.audit.Record(ctx, store.AuditEvent{Action: audit.UserDisabled, Success: true, ActorKind: store.KindUser, ActorID: a.UserID,
		OrganisationID: org, TargetKind: store.KindUser, TargetID: userID})
	return nil
}

// manageable checks that the actor may manage userID: each organisation
// the user is a member of lies within the actor's token scope (inScope),
// and the actor is admin or owner there (directly or through a membership
// above it), holding at least the user's role. It returns the user's
// memberships. An unknown user, one without memberships and one with a
// membership outside the scope are ErrForbidden like a user the actor may
// not manage, so the answer tells nothing about ids outside the actor's
// reach.
func (s *Service) manageable(ctx context.Context, a Actor, userID string) ([]store.Membership, error) {
	ms, err := s.st.ListMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, ErrForbidden
	}
	for _, m := range ms {
		if err := s.inScope(ctx, a, m.OrganisationID); errors.Is(err, ErrOutsideScope) {
			return nil, ErrForbidden
		} else if err != nil {
			return nil, err
		}
		g, err := s.RoleIn(ctx, a.UserID, m.OrganisationID)
		if err != nil {
			return nil, err
		}
		if !AtLeast(g.Role, RoleAdmin) || roleRank(m.Role) > roleRank(g.Role) {
			return nil, ErrForbidden
		}
	}
	return ms, nil
}

// DefaultMembership returns the membership a sign-in acts for: the one
// marked default, else the oldest.
func (s *Service) DefaultMembership(ctx context.Context, userID string) (store.Membership, error) {
	ms, err := s.st.ListMemberships(ctx, userID)
	if err != nil {
		return store.Membership{}, err
	}
	if len(ms) == 0 {
		return store.Membership{}, ErrForbidden
	}
	best := ms[0]
	for _, m := range ms {
		if m.IsDefault {
			return m, nil
		}
		if m.CreatedAt.Before(best.CreatedAt) {
			best = m
		}
	}
	return best, nil
}

// Now is the service clock.
func (s *Service) Now() time.Time { return s.now() }

// AddMembership grants a user a role in an organisation within the
// actor's token scope. The actor must be admin or owner there, may not
// grant more than they hold, and must be able to manage the user already
// (manageable): an admin cannot pull a user of another business, or one
// above them, into their organisation.
func (s *Service) AddMembership(ctx context.Context, a Actor, m store.Membership) error {
	if !ValidRole(m.Role) {
		return &ValidationError{Field: "role", Message: "The role must be owner, admin or member."}
	}
	// Scope and rights first, so the answer tells nothing about ids the
	// actor may not manage.
	if err := s.inScope(ctx, a, m.OrganisationID); err != nil {
		return err
	}
	g, err := s.RoleIn(ctx, a.UserID, m.OrganisationID)
	if err != nil {
		return err
	}
	if !AtLeast(g.Role, RoleAdmin) || roleRank(m.Role) > roleRank(g.Role) {
		return ErrForbidden
	}
	if _, err := s.manageable(ctx, a, m.UserID); err != nil {
		return err
	}
	m.CreatedAt = s.now().UTC()
	if err := s.st.CreateMembership(ctx, m); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return ErrConflict
		}
		return err
	}
	s.invalidate(ctx, m.UserID)
	s.audit.Record(ctx, store.AuditEvent{Action: audit.MembershipAdded, Success: true, ActorKind: store.KindUser, ActorID: a.UserID,
		OrganisationID: m.OrganisationID, TargetKind: store.KindUser, TargetID: m.UserID, Details: map[string]string{"role": m.Role}})
	return nil
}

// RemoveMembership takes a user's membership of an organisation within
// the actor's token scope away. The actor must be admin or owner there,
// holding at least the removed role. Tokens refreshed afterwards no
// longer act for it.
func (s *Service) RemoveMembership(ctx context.Context, a Actor, userID, orgID string) error {
	if err := s.inScope(ctx, a, orgID); err != nil {
		return err
	}
	g, err := s.RoleIn(ctx, a.UserID, orgID)
	if err != nil {
		return err
	}
	if !AtLeast(g.Role, RoleAdmin) {
		return ErrForbidden
	}
	ms, err := s.st.ListMemberships(ctx, userID)
	if err != nil {
		return err
	}
	var target *store.Membership
	for i := range ms {
		if ms[i].OrganisationID == orgID {
			target = &ms[i]
		}
	}
	if target == nil {
		return store.ErrNotFound
	}
	if roleRank(target.Role) > roleRank(g.Role) {
		return ErrForbidden
	}
	if err := s.st.DeleteMembership(ctx, userID, orgID); err != nil {
		return err
	}
	s.invalidate(ctx, userID)
	s.audit.Record(ctx, store.AuditEvent{Action: audit.MembershipRemoved, Success: true, ActorKind: store.KindUser, ActorID: a.UserID,
		OrganisationID: orgID, TargetKind: store.KindUser, TargetID: userID, Details: map[string]string{"role": target.Role}})
	return nil
}

// OnUserDisabled installs the hook DisableUser calls once the user is
// disabled: it ends the user's sessions and tokens everywhere.
func (s *Service) OnUserDisabled(f func(ctx context.Context, userID string) error) { s.onDisable = f }
