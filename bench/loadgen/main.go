// Command loadgen drives a paced mix of authd operations against one or
// more authd servers and reports throughput, errors and latency, and each
// server's resident memory and goroutines over time.
//
// Every worker is a virtual client: it signs in once (the bootstrap admin,
// or -user/-password), keeps its access and refresh token, and rotates the
// refresh token on every refresh. Requests go to the -url base URLs in turn
// (round robin), so a token issued by one server is refreshed and verified
// on the others.
//
// Operations (weights in -mix, e.g. signin=1,refresh=4,fa-jwt=10,fa-key=10):
//
//	signin   POST /backoffice/v1/users/authenticate (a new session for the client)
//	refresh  POST /backoffice/v1/users/refresh with the client's newest refresh token
//	fa-jwt   GET /forward-auth with Authorization: Bearer <the client's access token>
//	fa-key   GET /forward-auth with api_key: <-api-key>
//
// New operations are one entry in the ops table (ops.go).
//
// Paced mode (default) starts -rate requests per second on schedule,
// whatever the servers answer: a start waits for a free worker in a queue
// as long as -concurrency, and when that queue is full the request is not
// sent and counted as "skipped" (the servers, or the machine, fell behind
// the schedule by about 2×concurrency/rate seconds). -measure D
// instead runs closed-loop for D (each worker sends its next request as soon
// as the previous one answered) and prints "capacity: N req/s" last, a figure
// to run the paced mode at a fraction of.
//
// Every -report interval and at the end it prints requests, req/s, errors
// by kind (HTTP status or transport error), skipped starts and p50/p99
// latency per operation, and, with -admin, each server's resident memory,
// goroutines and revocation-log lag read from its admin listener's /metrics
// (the gauges table in sampler.go). It exits 1 when any request failed
// (skipped starts are reported, not failures).
//
// Example (two replicas, the output of `authd bootstrap --json` in boot.json):
//
//	loadgen -bootstrap boot.json -url http://127.0.0.1:8080,http://127.0.0.1:8081 \
//	  -admin http://127.0.0.1:9090,http://127.0.0.1:9091 -rate 400 -duration 10m
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	urls, admins []string
	rate         float64
	duration     time.Duration
	measure      time.Duration
	concurrency  int
	report       time.Duration
	timeout      time.Duration
	mix          []weighted
	user, pass   string
	apiKey       string
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var (
		urls      = fs.String("url", "http://127.0.0.1:8080", "comma-separated base URLs of the servers (round robin)")
		admins    = fs.String("admin", "", "comma-separated admin base URLs whose /metrics are sampled (RSS, heap, goroutines, revocation lag)")
		mix       = fs.String("mix", "signin=1,refresh=4,fa-jwt=10,fa-key=10", "operation weights: "+strings.Join(opNames(), ", "))
		bootstrap = fs.String("bootstrap", "", "`file` with the output of 'authd bootstrap --json' (admin and live secret API key)")
		c         = &config{}
	)
	fs.Float64Var(&c.rate, "rate", 100, "requests started per second (paced)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to run in paced mode")
	fs.DurationVar(&c.measure, "measure", 0, "run closed-loop for this long and print the capacity instead of pacing")
	fs.IntVar(&c.concurrency, "concurrency", 32, "workers (virtual clients), hence requests in flight at most")
	fs.DurationVar(&c.report, "report", 10*time.Second, "interval between progress reports (0: only the final one)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.StringVar(&c.user, "user", "", "sign-in email (default: the bootstrap admin)")
	fs.StringVar(&c.pass, "password", "", "sign-in password (default: the bootstrap admin's)")
	fs.StringVar(&c.apiKey, "api-key", "", "API key for fa-key (default: the bootstrap live secret key)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *bootstrap != "" {
		if err := readBootstrap(*bootstrap, c); err != nil {
			return nil, err
		}
	}
	c.urls = splitList(*urls)
	c.admins = splitList(*admins)
	var err error
	if c.mix, err = parseMix(*mix); err != nil {
		return nil, err
	}
	switch {
	case len(c.urls) == 0:
		return nil, errors.New("-url: no server")
	case c.concurrency < 1:
		return nil, errors.New("-concurrency must be at least 1")
	case c.measure == 0 && c.rate <= 0:
		return nil, errors.New("-rate must be positive")
	case needsAccount(c.mix) && (c.user == "" || c.pass == ""):
		return nil, errors.New("no account to sign in with: -bootstrap FILE or -user and -password")
	}
	for _, w := range c.mix {
		if w.op.name == "fa-key" && c.apiKey == "" {
			return nil, errors.New("fa-key needs an API key: -bootstrap FILE or -api-key")
		}
	}
	return c, nil
}

// needsAccount says whether an operation of mix signs in or uses a session.
func needsAccount(mix []weighted) bool {
	for _, w := range mix {
		if w.op.needsSession || w.op.name == "signin" {
			return true
		}
	}
	return false
}

// readBootstrap fills the account and API key left unset from the JSON
// `authd bootstrap --json` prints.
func readBootstrap(path string, c *config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var b struct {
		Admin struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		} `json:"admin"`
		APIKeys struct {
			Live struct {
				Secret string `json:"secret"`
			} `json:"live"`
		} `json:"api_keys"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if c.user == "" {
		c.user = b.Admin.Email
	}
	if c.pass == "" {
		c.pass = b.Admin.Password
	}
	if c.apiKey == "" {
		c.apiKey = b.APIKeys.Live.Secret
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimRight(strings.TrimSpace(p), "/"); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// target is what every operation shares: the HTTP client, the servers and
// the credentials.
type target struct {
	client     *http.Client
	urls       []string
	next       atomic.Uint64
	user, pass string
	apiKey     string
}

// base answers the next server in turn.
func (t *target) base() string {
	return t.urls[(t.next.Add(1)-1)%uint64(len(t.urls))]
}

func run(ctx context.Context, cfg *config) (failed bool, err error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = cfg.concurrency * len(cfg.urls) * 2
	tr.MaxIdleConnsPerHost = cfg.concurrency * 2
	t := &target{
		client: &http.Client{Transport: tr, Timeout: cfg.timeout},
		urls:   cfg.urls, user: cfg.user, pass: cfg.pass, apiKey: cfg.apiKey,
	}

	sampler := newSampler(t.client, cfg.admins)
	sampler.sample(0) // idle: before the sign-ins below
	// Every virtual client signs in before the clock starts (not counted),
	// unless no operation of the mix needs an account.
	clients := make([]*session, cfg.concurrency)
	var setupErr atomic.Value
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = &session{}
		if !needsAccount(cfg.mix) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := signIn(ctx, t, clients[i]); r.kind != "" {
				setupErr.Store(errors.New(r.kind))
			}
		}()
	}
	wg.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		return false, fmt.Errorf("initial sign-in: %w", err)
	}

	st := newStats(cfg.mix)
	mode := fmt.Sprintf("paced %.0f req/s for %v", cfg.rate, cfg.duration)
	length := cfg.duration
	if cfg.measure > 0 {
		mode, length = fmt.Sprintf("closed-loop for %v", cfg.measure), cfg.measure
	}
	fmt.Printf("loadgen: %s, %d workers, mix %s, servers %s\n", mode, cfg.concurrency, mixString(cfg.mix), strings.Join(cfg.urls, " "))
	sampler.print(os.Stdout)

	runCtx, cancel := context.WithTimeout(ctx, length)
	defer cancel()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if cfg.measure > 0 {
			closedLoop(runCtx, ctx, t, clients, cfg.mix, st)
		} else {
			paced(runCtx, ctx, t, clients, cfg.mix, cfg.rate, st)
		}
	}()

	var tick <-chan time.Time
	if cfg.report > 0 {
		ticker := time.NewTicker(cfg.report)
		defer ticker.Stop()
		tick = ticker.C
	}
	last := start
loop:
	for {
		select {
		case <-done:
			break loop
		case now := <-tick:
			elapsed := now.Sub(start)
			st.interval().print(os.Stdout, fmt.Sprintf("[%6s]", elapsed.Round(time.Second)), now.Sub(last))
			sampler.sample(elapsed)
			sampler.print(os.Stdout)
			last = now
		}
	}
	elapsed := time.Since(start)
	if cfg.report > 0 && time.Since(last) > cfg.report/10 {
		st.interval().print(os.Stdout, fmt.Sprintf("[%6s]", elapsed.Round(time.Second)), time.Since(last))
	}
	sampler.sample(elapsed)
	total := st.total()
	fmt.Println()
	total.print(os.Stdout, "total", elapsed)
	sampler.summary(os.Stdout)
	if cfg.measure > 0 {
		fmt.Printf("capacity: %.0f req/s\n", float64(total.ok())/elapsed.Seconds())
	}
	return total.errors() > 0, ctx.Err()
}

// paced starts rate requests per second on schedule until ctx ends, then
// lets the requests in flight finish (reqCtx bounds them). Starts wait in a
// queue as long as the workers for a free one (which absorbs the bursts a
// late timer causes); a start finding the queue full is skipped and
// counted: the schedule never waits for the servers.
func paced(ctx, reqCtx context.Context, t *target, clients []*session, mix []weighted, rate float64, st *stats) {
	type job struct{ op *op }
	jobs := make(chan job, len(clients))
	var wg sync.WaitGroup
	for _, s := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				st.record(do(reqCtx, t, s, j.op))
			}
		}()
	}
	pick := newPicker(mix)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := int64(0); ; n++ {
		if wait := time.Until(start.Add(time.Duration(n) * interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		o := pick.next()
		select {
		case jobs <- job{o}:
		default:
			st.record(result{op: o, skipped: true})
		}
	}
	close(jobs)
	wg.Wait()
}

// closedLoop has every worker send its next request as soon as the last
// one answered, until ctx ends.
func closedLoop(ctx, reqCtx context.Context, t *target, clients []*session, mix []weighted, st *stats) {
	var wg sync.WaitGroup
	for i, s := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pick := newPicker(mix)
			for range i % pick.total { // workers start at different points of the mix
				pick.next()
			}
			for ctx.Err() == nil {
				st.record(do(reqCtx, t, s, pick.next()))
			}
		}()
	}
	wg.Wait()
}
