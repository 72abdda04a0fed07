package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
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
	target := func() Client {
		next++
		return Client{Base: s.Targets[next%len(s.Targets)], HTTP: s.HTTP}
	}
	for ctx.Err() == nil {
		var token string
		err := rec.Time(ctx, "login", func() (err error) {
			token, err = target().Login(ctx, email, s.Password)
			return err
		})
		if err != nil {
			// A refused login (503 under overload, 429) must not turn
			// into a tight loop of refusals.
			Sleep(ctx, 100*time.Millisecond)
			continue
		}
		for range s.MePerLogin {
			if ctx.Err() != nil {
				return
			}
			rec.Time(ctx, "me", func() error { return target().Me(ctx, token) })
		}
	}
}

// Client makes Gatehouse's API calls against one node.
type Client struct {
	Base string // http://host:port
	HTTP *http.Client
	// ForwardedFor, when set, is sent as X-Forwarded-For: a node that
	// trusts the load generator as a proxy then throttles per that
	// address, as it does behind a real proxy.
	ForwardedFor string
}

// StatusError is an answer other than the one expected. Its message is
// the status and problem code ("503 unavailable"), so that a Recorder
// counts kinds of refusal apart.
type StatusError struct {
	Status     int
	Code       string        // the problem's code member
	RetryAfter time.Duration // from the Retry-After header, 0 without
}

func (e *StatusError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Code) }

// Login logs in with a password and returns the session token. The
// account must not have 2FA.
func (c Client) Login(ctx context.Context, email, password string) (string, error) {
	var res struct {
		Status       string `json:"status"`
		SessionToken string `json:"session_token"`
	}
	if err := c.call(ctx, "POST", "/api/v1/login", "", map[string]string{"email": email, "password": password}, http.StatusOK, &res); err != nil {
		return "", err
	}
	if res.Status != "authenticated" {
		return "", fmt.Errorf("login answered %q, want authenticated (use accounts without 2FA)", res.Status)
	}
	return res.SessionToken, nil
}

// Me checks a session: GET /api/v1/me.
func (c Client) Me(ctx context.Context, token string) error {
	return c.call(ctx, "GET", "/api/v1/me", token, nil, http.StatusOK, nil)
}

// RequestReset asks for a password-reset mail: POST /api/v1/password-reset.
func (c Client) RequestReset(ctx context.Context, email string) error {
	return c.call(ctx, "POST", "/api/v1/password-reset", "", map[string]string{"email": email}, http.StatusAccepted, nil)
}

// ListUsers fetches a page of the admin's company's users and returns the
// cursor of the next page ("" on the last).
func (c Client) ListUsers(ctx context.Context, token string, limit int, cursor string) (string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var res struct {
		Users      []json.RawMessage `json:"users"`
		NextCursor string            `json:"next_cursor"`
	}
	if err := c.call(ctx, "GET", "/api/v1/company/users?"+q.Encode(), token, nil, http.StatusOK, &res); err != nil {
		return "", err
	}
	if len(res.Users) == 0 {
		return "", fmt.Errorf("user list: an empty page")
	}
	return res.NextCursor, nil
}

// PostJSON POSTs body, JSON already encoded, with a bearer token when
// token is not empty, and decodes an answer with status want into v (nil:
// not read); any other answer is a *StatusError.
func (c Client) PostJSON(ctx context.Context, path, token string, body []byte, want int, v any) error {
	return c.send(ctx, "POST", path, token, body, want, v)
}

// call sends a request with an optional JSON body and bearer token, and
// decodes an answer with status want into v; any other answer is a
// *StatusError.
func (c Client) call(ctx context.Context, method, path, token string, body any, want int, v any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	return c.send(ctx, method, path, token, b, want, v)
}

// send is call with the body encoded (nil: none).
func (c Client) send(ctx context.Context, method, path, token string, body []byte, want int, v any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.ForwardedFor != "" {
		req.Header.Set("X-Forwarded-For", c.ForwardedFor)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		var p struct{ Code string }
		json.Unmarshal(b, &p)
		e := &StatusError{Status: resp.StatusCode, Code: p.Code}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if v != nil {
		return json.Unmarshal(b, v)
	}
	return nil
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
