package rediscache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authd/authd/internal/cache"
)

// pingTimeout bounds New's connectivity check when ctx has no earlier
// deadline.
const pingTimeout = 5 * time.Second

// New connects to the Redis at rawURL and pings it. Errors never contain
// the password.
//
// rawURL is redis://[user:password@]host[:port][/db][?options] or rediss://
// for TLS; options are those of redis.ParseURL (dial_timeout, pool_size,
// ...) plus two for several servers:
//
//   - addrs=host:port,host:port adds nodes to the URL's host: a Cluster,
//     which must use database 0;
//   - master_name=name selects Sentinel: the URL's host and addrs are the
//     sentinels, and the user and password are the master's.
//
// A server that cannot be reached, or refuses the credentials, gives an
// error wrapping cache.ErrUnavailable.
func New(ctx context.Context, rawURL string, opts Options) (*Cache, error) {
	c, uopts, err := open(rawURL, opts)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		where := strings.Join(uopts.Addrs, ",")
		wrapped := fmt.Errorf("%w: rediscache: ping %s: %w", cache.ErrUnavailable, where, err)
		if p := uopts.Password; p != "" && strings.Contains(wrapped.Error(), p) {
			msg := strings.ReplaceAll(err.Error(), p, "xxxxx")
			return nil, fmt.Errorf("%w: rediscache: ping %s: %s", cache.ErrUnavailable, where, msg)
		}
		return nil, wrapped
	}
	return c, nil
}

// Open is New without the connectivity check: the client connects on
// first use, so a process can start while Redis is down and use it once
// it is back.
func Open(rawURL string, opts Options) (*Cache, error) {
	c, _, err := open(rawURL, opts)
	return c, err
}

// silenceClient keeps go-redis's own logger (unstructured lines on
// stderr, one per failed dial) out of authd's JSON logs: outages are
// reported once by the health probe and the callers.
var silenceClient sync.Once

type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}

func open(rawURL string, opts Options) (*Cache, *redis.UniversalOptions, error) {
	silenceClient.Do(func() { redis.SetLogger(silent{}) })
	uopts, err := parseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	// Every call is bounded by the operation timeout (Cache.run sets a
	// context deadline, which the client honours), including waiting for a
	// pooled connection; one retry at most.
	op := opts.OpTimeout
	if op <= 0 {
		op = 250 * time.Millisecond
	}
	uopts.ContextTimeoutEnabled = true
	uopts.ReadTimeout, uopts.WriteTimeout, uopts.PoolTimeout = op, op, op
	uopts.DialTimeout = max(4*op, time.Second)
	uopts.MaxRetries = 1
	return NewFromClient(redis.NewUniversalClient(uopts), opts), uopts, nil
}

// parseURL turns rawURL into client options (see New).
func parseURL(rawURL string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// *url.Error quotes the whole URL, password included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("rediscache: invalid URL: %s", redact(err.Error(), rawURL))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("rediscache: invalid URL: scheme must be redis or rediss, not %q", u.Scheme)
	}

	q := u.Query()
	var extra []string
	for a := range strings.SplitSeq(q.Get("addrs"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			extra = append(extra, a)
		}
	}
	master := q.Get("master_name")
	q.Del("addrs")
	q.Del("master_name")
	u.RawQuery = q.Encode()

	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("rediscache: invalid URL: %s", redact(err.Error(), rawURL))
	}
	if master == "" && len(extra) > 0 && o.DB != 0 {
		return nil, errors.New("rediscache: invalid URL: a Redis Cluster has only database 0")
	}

	return &redis.UniversalOptions{
		Addrs:      append([]string{o.Addr}, extra...),
		MasterName: master,
		ClientName: o.ClientName,
		DB:         o.DB,
		Protocol:   o.Protocol,
		Username:   o.Username,
		Password:   o.Password,
		TLSConfig:  o.TLSConfig,

		MaxRetries:      o.MaxRetries,
		MinRetryBackoff: o.MinRetryBackoff,
		MaxRetryBackoff: o.MaxRetryBackoff,
		DialTimeout:     o.DialTimeout,
		ReadTimeout:     o.ReadTimeout,
		WriteTimeout:    o.WriteTimeout,

		PoolFIFO:                o.PoolFIFO,
		PoolSize:                o.PoolSize,
		PoolTimeout:             o.PoolTimeout,
		MinIdleConns:            o.MinIdleConns,
		MaxIdleConns:            o.MaxIdleConns,
		MaxActiveConns:          o.MaxActiveConns,
		MaxConcurrentDials:      o.MaxConcurrentDials,
		ConnMaxIdleTime:         o.ConnMaxIdleTime,
		ConnMaxLifetime:         o.ConnMaxLifetime,
		ConnMaxLifetimeJitter:   o.ConnMaxLifetimeJitter,
		PipelinePoolSize:        o.PipelinePoolSize,
		PipelineReadBufferSize:  o.PipelineReadBufferSize,
		PipelineWriteBufferSize: o.PipelineWriteBufferSize,
	}, nil
}

// redact removes the URL's userinfo from msg, in case an error quotes it.
func redact(msg, rawURL string) string {
	rest, ok := strings.CutPrefix(rawURL, "redis://")
	if !ok {
		rest, ok = strings.CutPrefix(rawURL, "rediss://")
	}
	if !ok {
		_, rest, ok = strings.Cut(rawURL, "://")
	}
	if !ok {
		return msg
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at <= 0 {
		return msg
	}
	userinfo := rest[:at]
	msg = strings.ReplaceAll(msg, userinfo, "xxxxx")
	if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}
