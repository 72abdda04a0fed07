package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/outbox"
)

// Limits of one attempt. The whole attempt — lookup, connection, TLS,
// request, answer — has Timeout; each step has a shorter bound of its own,
// so that a receiver that accepts the connection and then says nothing is
// given up on as early as one that does not answer at all.
const (
	DefaultTimeout        = 15 * time.Second // Standard Webhooks suggests 15 to 30 s
	DefaultConnectTimeout = 5 * time.Second
	DefaultTLSTimeout     = 5 * time.Second
	DefaultHeaderTimeout  = 10 * time.Second
	// DefaultMaxBody is how much of an answer is read: only the status
	// matters, and a receiver must not make us read without end.
	DefaultMaxBody = 4 << 10
)

// UserAgent is the User-Agent of every delivery.
const UserAgent = "Gatehouse-Webhooks/1"

// Client posts deliveries, to addresses Policy allows only: every address
// is checked when the connection is made, after the name is resolved, in
// the dialer's Control function (the address actually dialled, so a name
// that resolves elsewhere by then does not get through). It follows no
// redirect, uses no proxy from the environment, and reads at most MaxBody
// of an answer.
type Client struct {
	policy  *Policy
	opts    ClientOptions
	http    *http.Client
	dialer  net.Dialer
	control func(network, address string, c syscall.RawConn) error
}

// ClientOptions tune a Client; zero fields take the defaults above.
type ClientOptions struct {
	Timeout, ConnectTimeout, TLSTimeout, HeaderTimeout time.Duration
	MaxBody                                            int64
	// TLS is the client's TLS configuration; nil trusts the system's roots.
	TLS *tls.Config
	// MaxIdleConnsPerHost bounds the idle connections kept to one
	// receiver's host for the next delivery. The connections in use are
	// not capped per host: many endpoints may share one host (a service
	// that receives for many customers), and one of them hanging must not
	// take the others' connections. The worker's lanes bound them.
	MaxIdleConnsPerHost int
}

// NewClient returns a client that keeps to p.
func NewClient(p *Policy, o ClientOptions) *Client {
	o.Timeout = outbox.OrDefault(o.Timeout, DefaultTimeout)
	o.ConnectTimeout = outbox.OrDefault(o.ConnectTimeout, DefaultConnectTimeout)
	o.TLSTimeout = outbox.OrDefault(o.TLSTimeout, DefaultTLSTimeout)
	o.HeaderTimeout = outbox.OrDefault(o.HeaderTimeout, DefaultHeaderTimeout)
	o.MaxBody = outbox.OrDefault(o.MaxBody, DefaultMaxBody)
	o.MaxIdleConnsPerHost = outbox.OrDefault(o.MaxIdleConnsPerHost, 2*DefaultPerEndpoint)
	c := &Client{policy: p, opts: o}
	c.control = c.checkDialled
	c.dialer = net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second, Control: c.control}
	transport := &http.Transport{
		Proxy:                  nil, // HTTP(S)_PROXY would be dialled instead of the receiver, unchecked
		DialContext:            c.dial,
		TLSClientConfig:        o.TLS,
		TLSHandshakeTimeout:    o.TLSTimeout,
		ResponseHeaderTimeout:  o.HeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
	}
	c.http = &http.Client{
		Transport: transport,
		// A redirect is an answer, and not a 2xx: the delivery failed.
		// Following it would let a receiver send us anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// checkDialled is the dialer's Control: it runs for each address the
// connection is about to be made to.
func (c *Client) checkDialled(network, address string, _ syscall.RawConn) error {
	if c.policy.allowPrivate() {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: cannot check the address %q: %w", address, err)
	}
	return CheckAddress(ap.Addr())
}

// dial resolves the host with the policy's resolver and connects to its
// addresses in turn, each checked by Control.
func (c *Client) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = c.policy.resolve(ctx, host); err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	var first error
	for _, a := range addrs {
		conn, err := c.dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// Message is what one attempt sends.
type Message struct {
	URL, ID string
	Body    []byte
	// Keys sign the message, the current one first.
	Keys [][]byte
}

// Answer is the outcome of one attempt.
type Answer struct {
	Status int   // the HTTP status; 0 when there was none
	Err    error // nil for a 2xx
	// RetryAfter is what the receiver's Retry-After asked for, if anything.
	RetryAfter time.Duration
}

// Send makes one attempt: a POST of the body, signed at the time of the
// attempt (webhook-timestamp is now, so that a retry hours later is not
// refused as a replay), within Timeout.
func (c *Client) Send(ctx context.Context, m Message) Answer {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Answer{Err: err}
	}
	now := time.Now().Unix()
	req.Header = http.Header{
		"Content-Type":      {"application/json"},
		"User-Agent":        {UserAgent},
		"Webhook-Id":        {m.ID},
		"Webhook-Timestamp": {strconv.FormatInt(now, 10)},
		"Webhook-Signature": {Sign(m.ID, now, m.Body, m.Keys...)},
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Answer{Err: explain(err, c.opts.Timeout)}
	}
	// Read what may keep the connection for the next delivery; a longer
	// answer closes it.
	io.Copy(io.Discard, io.LimitReader(resp.Body, c.opts.MaxBody))
	resp.Body.Close()
	a := Answer{Status: resp.StatusCode}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Err = fmt.Errorf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			a.Err = fmt.Errorf("HTTP %d: redirects are not followed; register the final URL", resp.StatusCode)
		}
		a.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return a
}

// explain turns a transport error into a line for the endpoint's page:
// the refused address, a timeout, or the network's error without the
// request's URL around it.
func explain(err error, timeout time.Duration) error {
	var ae *AddressError
	if errors.As(err, &ae) {
		return ae
	}
	// A failed lookup names the resolver it asked, an address of the
	// internal network that company admins have no business seeing.
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return fmt.Errorf("the host %s is not found", de.Name)
		}
		return fmt.Errorf("the host %s cannot be looked up now", de.Name)
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("no answer within %v", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
