package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/token"
)

// mountUserAccount adds a back-office user's own account endpoints (their
// password and sessions) and their admins' view of a user's sessions.
func (b *backoffice) mountUserAccount(g *gin.RouterGroup) {
	bearer := requireBearer(b.Tokens, token.KindUser)
	g.POST("/users/password/reset", wrap(b.requestPasswordReset))
	g.POST("/users/password/reset/:otp_id", wrap(b.resetPassword))
	g.PUT("/users/me/password", bearer, wrap(b.changePassword))
	g.GET("/users/me/sessions", bearer, wrap(b.mySessions))
	g.DELETE("/users/me/sessions", bearer, wrap(b.endMySessions))
	g.DELETE("/users/me/sessions/:session_id", bearer, wrap(b.endMySession))
	g.GET("/users/:id/sessions", bearer, wrap(b.userSessions))
	g.DELETE("/users/:id/sessions", bearer, wrap(b.endUserSessions))
	g.DELETE("/users/:id/sessions/:session_id", bearer, wrap(b.endUserSession))
}

// requestPasswordReset sends a reset code to a user's email; the answer
// is the same for unknown emails.
func (b *backoffice) requestPasswordReset(c *gin.Context) error {
	email, err := bindResetRequest(c)
	if err != nil {
		return err
	}
	issued, err := b.d.SignIn.RequestUserPasswordReset(c.Request.Context(), email)
	if err != nil {
		return err
	}
	return answerResetRequest(c, issued.ID, issued.ExpiresAt)
}

// resetPassword sets a new password with the code sent to the email and
// signs the user in; every other session ends.
func (b *backoffice) resetPassword(c *gin.Context) error {
	req, err := bindResetComplete(c)
	if err != nil {
		return err
	}
	res, err := b.d.SignIn.UserPasswordReset(c.Request.Context(), b.d.signinClient(), c.Param("otp_id"), req.Code, req.Password)
	if err != nil {
		return err
	}
	return b.respondAuth(c, http.StatusOK, res.Principal, res.Tokens)
}

// changePassword replaces the signed-in user's password; their other
// sessions end.
func (b *backoffice) changePassword(c *gin.Context) error {
	req, err := bindChangePassword(c)
	if err != nil {
		return err
	}
	claims, _ := claimsOf(c)
	if err := b.d.SignIn.ChangeUserPassword(c.Request.Context(), claims, req.CurrentPassword, req.Password); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// sessionJSON is one sign-in of a user (a refresh family).
type sessionJSON struct {
	ID             string `json:"id"`
	ClientID       string `json:"client_id"`
	OrganisationID string `json:"organisation_id"`
	Mode           string `json:"mode"`
	CreatedAt      string `json:"created_at"`
	LastUsedAt     string `json:"last_used_at"`
	ExpiresAt      string `json:"expires_at"`
	IP             string `json:"ip,omitempty"`
	UserAgent      string `json:"user_agent,omitempty"`
	Current        bool   `json:"current"`
}

func (b *backoffice) listSessions(c *gin.Context, userID string) error {
	claims, _ := claimsOf(c)
	sessions, err := b.d.SignIn.UserSessions(c.Request.Context(), actorOf(claims), userID)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, sessionJSON{ID: s.FamilyID, ClientID: s.ClientID, OrganisationID: s.OrganisationID, Mode: string(s.Mode),
			CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339), LastUsedAt: s.LastUsedAt.UTC().Format(time.RFC3339),
			ExpiresAt: s.ExpiresAt.UTC().Format(time.RFC3339), IP: s.IP, UserAgent: s.UserAgent,
			Current: userID == claims.Subject && s.FamilyID == claims.Family})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"sessions": out})
	return nil
}

// endSessions ends every session of userID; the caller's own session
// stays when they end their own.
func (b *backoffice) endSessions(c *gin.Context, userID string) error {
	claims, _ := claimsOf(c)
	var except string
	if userID == claims.Subject {
		except = claims.Family
	}
	if err := b.d.SignIn.EndUserSessions(c.Request.Context(), actorOf(claims), userID, except); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (b *backoffice) endSession(c *gin.Context, userID string) error {
	claims, _ := claimsOf(c)
	if err := b.d.SignIn.EndUserSession(c.Request.Context(), actorOf(claims), userID, c.Param("session_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func me(c *gin.Context) string {
	claims, _ := claimsOf(c)
	return claims.Subject
}

func (b *backoffice) mySessions(c *gin.Context) error      { return b.listSessions(c, me(c)) }
func (b *backoffice) endMySessions(c *gin.Context) error   { return b.endSessions(c, me(c)) }
func (b *backoffice) endMySession(c *gin.Context) error    { return b.endSession(c, me(c)) }
func (b *backoffice) userSessions(c *gin.Context) error    { return b.listSessions(c, c.Param("id")) }
func (b *backoffice) endUserSessions(c *gin.Context) error { return b.endSessions(c, c.Param("id")) }
func (b *backoffice) endUserSession(c *gin.Context) error  { return b.endSession(c, c.Param("id")) }
