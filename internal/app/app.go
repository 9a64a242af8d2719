package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/authd/authd/internal/apikey"
	"github.com/authd/authd/internal/audit"
	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/cache"
	"github.com/authd/authd/internal/cache/memcache"
	"github.com/authd/authd/internal/cache/rediscache"
	"github.com/authd/authd/internal/clients"
	"github.com/authd/authd/internal/clock"
	"github.com/authd/authd/internal/config"
	"github.com/authd/authd/internal/forwardauth"
	"github.com/authd/authd/internal/grpcapi"
	"github.com/authd/authd/internal/httpapi"
	"github.com/authd/authd/internal/identity"
	"github.com/authd/authd/internal/integrations"
	"github.com/authd/authd/internal/keys"
	"github.com/authd/authd/internal/oauth"
	"github.com/authd/authd/internal/otp"
	"github.com/authd/authd/internal/otp/sender"
	"github.com/authd/authd/internal/password"
	"github.com/authd/authd/internal/refresh"
	"github.com/authd/authd/internal/revocation"
	"github.com/authd/authd/internal/secretbox"
	"github.com/authd/authd/internal/selfservice"
	"github.com/authd/authd/internal/signin"
	"github.com/authd/authd/internal/signup"
	"github.com/authd/authd/internal/store"
	"github.com/authd/authd/internal/store/sqlstore"
	"github.com/authd/authd/internal/token"
)

// App holds authd's wired services.
type App struct {
	Config *config.Config
	Logger *slog.Logger
	Store  *sqlstore.Store
	Cache  cache.Cache
	Keys   *keys.Manager
	// Revocations is the durable revocation log held in memory.
	Revocations *revocation.Service
	Tokens      *token.Service
	OAuth       *oauth.Provider
	Hasher      *password.Hasher
	Clients     *clients.Service
	// KeyBox seals public API keys so they can be shown again.
	KeyBox   *secretbox.Box
	Audit    *audit.Recorder
	Identity *identity.Service
	Refresh  *refresh.Service
	SignIn   *signin.Service

	// API keys: the one verifier, key management, forward-auth.
	KeyVerifier *apikey.Verifier
	KeyService  *apikey.Service
	ForwardAuth *forwardauth.Decider

	// Self-service contacts.
	OTP         *otp.Service
	OTPSender   sender.Sender // Options.OTPSender, when set
	SelfService *selfservice.Service
	// SignUp signs organisations up with their owner (public keys).
	SignUp *signup.Service
	// Integrations are the businesses' own (OTP delivery).
	Integrations *integrations.Service

	Registry *prometheus.Registry
	Public   http.Handler
	Admin    http.Handler
	// GRPC serves Envoy's ext_authz when grpc.addr is set (else nil).
	GRPC *grpcapi.Server

	health   *health
	now      clock.Clock
	cancel   context.CancelFunc
	draining atomic.Bool
	grpcAddr atomic.Value // net.Addr of the gRPC listener, once bound
	policies clientPolicies
}

// OpenStore opens and migrates the SQL store named by cfg.
func OpenStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*sqlstore.Store, error) {
	st, err := sqlstore.Open(ctx, cfg.Database.DSN, sqlstore.Options{MaxOpenConns: cfg.Database.MaxOpenConns, Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// OpenCache opens Redis when configured, else the in-process cache. A
// Redis that does not answer at start-up is not fatal: the replica starts
// degraded (verification needs no Redis) and uses it once it answers.
func OpenCache(ctx context.Context, cfg *config.Config, logger *slog.Logger) (cache.Cache, error) {
	if cfg.Redis.URL == "" {
		return memcache.New(memcache.Options{}), nil
	}
	opts := rediscache.Options{KeyPrefix: cfg.Redis.KeyPrefix, OpTimeout: cfg.Redis.OpTimeout}
	c, err := rediscache.New(ctx, cfg.Redis.URL, opts)
	if errors.Is(err, cache.ErrUnavailable) {
		logger.Error("redis does not answer; starting without it (verification works, sign-in, OTP and rate-limited calls answer 503 until it does)", "error", err)
		return rediscache.Open(cfg.Redis.URL, opts)
	}
	return c, err
}

// KeysConfig maps the configuration onto the keys manager's.
func KeysConfig(cfg *config.Config) keys.Config {
	return keys.Config{
		Algorithm:      cfg.Keys.Algorithm,
		RotationPeriod: cfg.Keys.RotationPeriod,
		PublishAhead:   cfg.Keys.PublishAhead,
		MaxTokenTTL:    cfg.Tokens.MaxAccessTokenTTL, // the longest any client's tokens live
		JWKSMaxAge:     cfg.Keys.JWKSMaxAge,
		ReloadInterval: cfg.Keys.ReloadInterval,
	}
}

// New wires every service. It opens and migrates the store, connects the
// cache and loads (or, on an empty store, creates) the signing keys.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	return NewWithOptions(ctx, cfg, logger, Options{})
}

// Options replace parts of the wiring (tests and benchmarks).
type Options struct {
	// OTPSender replaces the configured OTP sender.
	OTPSender sender.Sender
	// Clock is every service's clock (default time.Now): tests pass a
	// clock.Fake and move it instead of sleeping.
	Clock clock.Clock
}

// NewWithOptions is New with parts replaced.
func NewWithOptions(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts Options) (a *App, err error) {
	a = &App{Config: cfg, Logger: logger, OTPSender: opts.OTPSender, now: clock.Or(opts.Clock)}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.Store, err = OpenStore(ctx, cfg, logger); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if a.Cache, err = OpenCache(ctx, cfg, logger); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if a.Keys, err = keys.New(a.Store, cfg.Secrets.System, KeysConfig(cfg), logger, a.now); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err = a.Keys.Init(ctx); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if a.KeyBox, err = apikey.NewBox(cfg.Secrets.System); err != nil {
		return nil, err
	}
	a.Hasher = password.New(PasswordParams(cfg))
	a.Revocations = revocation.New(a.Store, a.Cache, revocation.Config{PollInterval: cfg.Revocation.PollInterval}, logger, a.now)
	a.Tokens = token.New(a.Keys, a.Revocations, cfg.Issuer, a.now)
	a.Tokens.SetCache(cfg.Tokens.VerifyCacheSize, cfg.Tokens.VerifyCacheBytes)
	if err = a.wireSignIn(); err != nil {
		return nil, err
	}
	if err = a.wireSelfService(); err != nil {
		return nil, fmt.Errorf("self-service: %w", err)
	}
	a.wireSignUp()
	if err = a.wireIntegrations(); err != nil {
		return nil, fmt.Errorf("integrations: %w", err)
	}
	if err = a.wireAPIKeys(ctx); err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	a.wireClients()
	// Every listener is registered: read the revocations in force before
	// anything is verified.
	if err = a.Revocations.Load(ctx); err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}

	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpapi.NewMetrics(a.Registry)

	a.OAuth = oauth.New(oauth.Config{
		Issuer:          cfg.Issuer,
		AccessTokenTTL:  cfg.Tokens.AccessTokenTTL,
		DefaultAudience: cfg.Tokens.DefaultAudience,
	}, a.Clients, a.Tokens, a.SignIn, logger, metrics.TokenIssued)
	a.OAuth.AddIntrospector(oauth.NewAPIKeyIntrospector(a.KeyVerifier))
	a.OAuth.AddRevoker(oauth.NewAPIKeyRevoker())

	pub, err := httpapi.NewPublic(httpapi.Deps{
		Logger:               logger,
		OAuth:                a.OAuth,
		Keys:                 a.Keys,
		Metrics:              metrics,
		JWKSMaxAge:           cfg.Keys.JWKSMaxAge,
		MaxBodyBytes:         cfg.HTTP.MaxBodyBytes,
		TrustedProxies:       cfg.HTTP.TrustedProxies,
		RequestLog:           cfg.Log.Requests,
		RequestTimeout:       cfg.HTTP.RequestTimeout,
		RevocationFeed:       a.OAuth.RevocationFeedHandler(a.Revocations, 15*time.Second),
		SampleEvery:          cfg.Log.SampleEvery,
		Tokens:               a.Tokens,
		APIKeys:              a.KeyVerifier,
		APIKeyAdmin:          &httpapi.APIKeyDeps{Service: a.KeyService},
		ClientAdmin:          &httpapi.ClientDeps{Service: a.Clients},
		Integrations:         &httpapi.IntegrationDeps{Service: a.Integrations},
		SignUp:               &httpapi.SignUpDeps{Service: a.SignUp},
		ForwardAuth:          a.ForwardAuth,
		ForwardAuthURIHeader: cfg.ForwardAuth.URIHeader,
		Contacts: &httpapi.ContactDeps{
			Identity:    a.Identity,
			SignIn:      a.SignIn,
			SelfService: a.SelfService,
			ClientID:    bootstrap.ClientSelfService,
		},
		Backoffice: &httpapi.BackofficeDeps{
			Identity: a.Identity,
			SignIn:   a.SignIn,
			ClientID: bootstrap.ClientBackoffice,
		},
	})
	if err != nil {
		return nil, err
	}
	a.Public = pub
	if cfg.GRPC.Addr != "" {
		a.GRPC = grpcapi.New(grpcapi.Deps{Logger: logger, Decider: a.ForwardAuth, Registerer: a.Registry,
			RequestTimeout: cfg.HTTP.RequestTimeout, MaxRecvBytes: int(cfg.HTTP.MaxBodyBytes) + 64<<10,
			RequestLog: cfg.Log.Requests, SampleEvery: cfg.Log.SampleEvery})
	}
	a.wireAdmin()
	return a, nil
}

// Start runs background work (key reload and rotation) until Close.
func (a *App) Start(ctx context.Context) {
	ctx, a.cancel = context.WithCancel(ctx)
	a.Keys.Start(ctx)
	a.Revocations.Start(ctx)
	go a.health.run(ctx)
	if err := a.Identity.Start(ctx); err != nil {
		a.Logger.WarnContext(ctx, "identity: cannot follow authorization changes of other replicas", "error", err)
	}
	if err := a.Integrations.Start(ctx); err != nil {
		a.Logger.WarnContext(ctx, "integrations: cannot follow other replicas' changes (they arrive within otp.integrations.cache_ttl)", "error", err)
	}
	go a.cleanupLoop(ctx)
}

// cleanupLoop deletes refresh tokens of long-ended families and expired
// revocation entries, hourly. Every
// replica may run it: the delete is idempotent.
func (a *App) cleanupLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.Refresh.Cleanup(ctx); err != nil {
				a.Logger.WarnContext(ctx, "refresh-token cleanup failed", "error", err)
			} else if n > 0 {
				a.Logger.InfoContext(ctx, "refresh-token cleanup", "deleted", n)
			}
			if n, err := a.Revocations.Cleanup(ctx); err != nil {
				a.Logger.WarnContext(ctx, "revocation-log cleanup failed", "error", err)
			} else if n > 0 {
				a.Logger.InfoContext(ctx, "revocation-log cleanup", "deleted", n)
			}
		}
	}
}

// Close stops background work and closes the backends.
func (a *App) Close() {
	if a.cancel != nil {
		a.cancel()
	}
	if a.KeyVerifier != nil {
		_ = a.KeyVerifier.Close() // flushes last-used times: before the store closes
	}
	if a.Cache != nil {
		_ = a.Cache.Close()
	}
	if a.Store != nil {
		_ = a.Store.Close()
	}
}

// IsEmpty reports whether the database has no organisation yet.
func (a *App) IsEmpty(ctx context.Context) (bool, error) { return a.Store.IsEmpty(ctx) }

var _ store.Store = (*sqlstore.Store)(nil)

// redact hides credentials in a URL-ish string for logs.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://***@" + rest[at+1:]
	}
	return dsn
}

// PasswordParams are the configured argon2id parameters.
func PasswordParams(cfg *config.Config) password.Params {
	return password.Params{MemoryKiB: cfg.Passwords.MemoryKiB, Iterations: cfg.Passwords.Iterations, Parallelism: cfg.Passwords.Parallelism}
}

// staleOrOff maps the configured stale-if-error (0: off) to lastgood's
// (negative: off).
func staleOrOff(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
