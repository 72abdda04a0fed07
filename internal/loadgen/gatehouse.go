package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// LoginAndCheck is the traffic a SaaS sends Gatehouse: a person logs in
// (POST /api/v1/login), then every page they open checks the session
// (GET /api/v1/me). Each request goes to the next target in turn, as a
// round-robin load balancer sends it, so a session made on one node is
// checked on the others.
type LoginAndCheck struct {
	Targets    []string // base URLs of the nodes, http://host:port
	Emails     []string // client c logs in as Emails[c % len(Emails)]
	Password   string
	MePerLogin int // session checks after each login
	HTTP       *http.Client
}

// NewHTTPClient returns a client that keeps a connection per client and
// target alive, as a balancer's pool does.
func NewHTTPClient(clients int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = max(clients, 2)
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Run is the Scenario.
func (s LoginAndCheck) Run(ctx context.Context, client int, rec *Recorder) {
	email := s.Emails[client%len(s.Emails)]
	next := client // spread the clients' first requests over the targets
	target := func() string {
		next++
		return s.Targets[next%len(s.Targets)]
	}
	for ctx.Err() == nil {
		var token string
		err := rec.Time(ctx, "login", func() (err error) {
			token, err = s.login(ctx, target(), email)
			return err
		})
		if err != nil {
			// A refused login (503 under overload, 429) must not turn
			// into a tight loop of refusals.
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		for range s.MePerLogin {
			if ctx.Err() != nil {
				return
			}
			rec.Time(ctx, "me", func() error { return s.me(ctx, target(), token) })
		}
	}
}

func (s LoginAndCheck) login(ctx context.Context, base, email string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": s.Password})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var res struct {
		Status       string `json:"status"`
		SessionToken string `json:"session_token"`
	}
	if err := s.do(req, &res); err != nil {
		return "", err
	}
	if res.Status != "authenticated" {
		return "", fmt.Errorf("login answered %q, want authenticated (use accounts without 2FA)", res.Status)
	}
	return res.SessionToken, nil
}

func (s LoginAndCheck) me(ctx context.Context, base, token string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/me", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return s.do(req, nil)
}

// do sends req and decodes a 200 answer into v; any other answer is an
// error named by its status and problem code.
func (s LoginAndCheck) do(req *http.Request, v any) error {
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var p struct{ Code string }
		json.Unmarshal(b, &p)
		return fmt.Errorf("%d %s", resp.StatusCode, p.Code)
	}
	if v != nil {
		return json.Unmarshal(b, v)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
