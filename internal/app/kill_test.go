package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache/rediscache/redistest"
)

// proc is an authd binary running as its own process.
type proc struct {
	cmd   *exec.Cmd
	url   string
	admin string
	log   *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProc runs `bin serve` with env and waits until it is ready.
func startProc(t *testing.T, bin string, env []string) *proc {
	t.Helper()
	httpAddr, adminAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, "AUTHD_HTTP_ADDR="+httpAddr, "AUTHD_ADMIN_ADDR="+adminAddr)
	p := &proc{cmd: cmd, url: "http://" + httpAddr, admin: "http://" + adminAddr, log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := http.Get(p.admin + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("authd did not become ready: %s", p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postJSON posts body to url; it returns the status (0 when the request
// failed) and the decoded answer.
func postJSON(c *http.Client, url string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// family is one sign-in's refresh tokens as its client saw them.
type family struct {
	tokens []string // every token the client held, oldest first
	ended  bool     // a refresh was refused: the family is over
}

// TestFaultKillDuringRefreshStorm: two authd processes on one PostgreSQL
// and Redis; many clients refresh as fast as they can, spread over both,
// and one process is killed with SIGKILL mid-storm. Afterwards every
// family either refreshes with the newest token its client holds or is
// cleanly refused, no token that was rotated away works, and the surviving
// replica never answered 5xx.
func TestFaultKillDuringRefreshStorm(t *testing.T) {
	if os.Getenv("AUTHD_TEST_FAULTS") != "1" {
		t.Skip("builds authd and kills it: set AUTHD_TEST_FAULTS=1")
	}
	pg := os.Getenv("AUTHD_TEST_POSTGRES_DSN")
	if pg == "" {
		t.Skip("needs AUTHD_TEST_POSTGRES_DSN")
	}
	srv := redistest.Start(t)
	bin := filepath.Join(t.TempDir(), "authd")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/authd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	env := append(os.Environ(),
		"AUTHD_DATABASE_DSN="+akPostgresSchema(t, pg),
		"AUTHD_REDIS_URL="+srv.URL(),
		"AUTHD_SECRETS_SYSTEM="+testSecret,
		"AUTHD_ISSUER=http://kill.test",
		"AUTHD_RATE_LIMITS_PASSWORD_PER_ACCOUNT_PER_HOUR=100000",
		"AUTHD_RATE_LIMITS_PASSWORD_PER_IP_PER_MINUTE=100000",
		"AUTHD_PASSWORDS_MEMORY_KIB=8192", "AUTHD_PASSWORDS_ITERATIONS=1",
		"AUTHD_LOG_REQUESTS=off",
	)
	boot := exec.Command(bin, "bootstrap", "--json")
	boot.Env = env
	out, err := boot.Output()
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	var res struct {
		Admin struct{ Email, Password string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("bootstrap output: %v", err)
	}
	a, b := startProc(t, bin, env), startProc(t, bin, env)
	client := &http.Client{Timeout: 5 * time.Second}

	const families = 16
	fams := make([]*family, families)
	for i := range fams {
		url := a.url
		if i%2 == 1 {
			url = b.url
		}
		code, m := postJSON(client, url+"/backoffice/v1/users/authenticate", map[string]string{"username": res.Admin.Email, "password": res.Admin.Password})
		if code != 200 {
			t.Fatalf("sign-in: %d %v", code, m)
		}
		fams[i] = &family{tokens: []string{m["refresh_token"].(string)}}
	}

	var (
		mu       sync.Mutex
		killed   bool
		b5xx     int
		attempts int
	)
	stop := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for _, f := range fams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && !f.ended {
				mu.Lock()
				target := b
				if !killed && rand.IntN(2) == 0 {
					target = a
				}
				mu.Unlock()
				code, m := postJSON(client, target.url+"/backoffice/v1/users/refresh", map[string]string{"refresh_token": f.tokens[len(f.tokens)-1]})
				mu.Lock()
				attempts++
				if target == b && code >= 500 {
					b5xx++
				}
				mu.Unlock()
				switch code {
				case 200:
					f.tokens = append(f.tokens, m["refresh_token"].(string))
				case 401:
					f.ended = true
				}
				// 0 (the process died mid-request) or 5xx: the client keeps
				// its newest token and tries again.
			}
		}()
	}
	time.Sleep(time.Second)
	mu.Lock()
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	killed = true
	mu.Unlock()
	wg.Wait()
	if b5xx > 0 {
		t.Errorf("the surviving replica answered %d of the storm's requests with 5xx", b5xx)
	}
	t.Logf("%d refresh attempts; process A killed after 1s", attempts)

	refreshed, revoked := 0, 0
	for i, f := range fams {
		newest := f.tokens[len(f.tokens)-1]
		code, m := postJSON(client, b.url+"/backoffice/v1/users/refresh", map[string]string{"refresh_token": newest})
		switch code {
		case 200:
			refreshed++
			f.tokens = append(f.tokens, m["refresh_token"].(string))
		case 401:
			revoked++
			f.ended = true
		default:
			t.Fatalf("family %d: its newest token answered %d %v", i, code, m)
		}
		// Every token rotated away before the newest's parent must fail
		// (the parent itself may still be within the reuse grace).
		for j := 0; j+2 < len(f.tokens); j++ {
			if code, _ := postJSON(client, b.url+"/backoffice/v1/users/refresh", map[string]string{"refresh_token": f.tokens[j]}); code != 401 {
				t.Fatalf("family %d: rotated token %d of %d answered %d", i, j, len(f.tokens), code)
			}
		}
	}
	t.Logf("after the kill: %d families refresh, %d cleanly ended", refreshed, revoked)
	if refreshed+revoked != families {
		t.Fatalf("%d families unaccounted for", families-refreshed-revoked)
	}
}
