package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// apiConn is one client's keep-alive connection to Gatehouse, speaking
// the little HTTP/1.1 that JSON POSTs need: a request written in one
// piece, an answer read with its Content-Length or in chunks. The passkey
// scenario's harness runs on the server's cores, where net/http's client
// spends more a request (a reader and a writer goroutine a connection, a
// header map each way); the requests and answers on the wire are the
// same.
type apiConn struct {
	addr string // host:port
	host string // the Host header
	c    net.Conn
	r    *bufio.Reader
	req  []byte // the request being written, reused
	body []byte // the answer's body, reused
}

// newAPIConn returns a connection to base (http://host:port) whose
// requests name host; it dials at its first request.
func newAPIConn(base, host string) *apiConn {
	return &apiConn{addr: strings.TrimPrefix(base, "http://"), host: host}
}

// close closes the connection; a later request dials again.
func (a *apiConn) close() {
	if a.c != nil {
		a.c.Close()
		a.c = nil
	}
}

// post POSTs body (JSON) to path with a bearer token when token is not
// empty, and decodes an answer of status want into v; another status is a
// *loadgen.StatusError. A connection that failed is dropped, and the next
// request dials again. The end of ctx closes the connection, which cuts a
// request in flight off.
func (a *apiConn) post(ctx context.Context, path, token string, body []byte, want int, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.c == nil {
		c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", a.addr)
		if err != nil {
			return err
		}
		context.AfterFunc(ctx, func() { c.Close() })
		a.c, a.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	status, retryAfter, keep, err := a.roundTrip(path, token, body)
	if err != nil || !keep {
		a.close()
	}
	if err != nil {
		return err
	}
	if status != want {
		var p struct{ Code string }
		json.Unmarshal(a.body, &p)
		return &loadgen.StatusError{Status: status, Code: p.Code, RetryAfter: retryAfter}
	}
	if v != nil {
		return json.Unmarshal(a.body, v)
	}
	return nil
}

// roundTrip writes the request and reads the answer's status, its
// Retry-After and its body (into a.body); keep is false when the server
// closes the connection after it.
func (a *apiConn) roundTrip(path, token string, body []byte) (status int, retryAfter time.Duration, keep bool, err error) {
	q := append(a.req[:0], "POST "...)
	q = append(q, path...)
	q = append(q, " HTTP/1.1\r\nHost: "...)
	q = append(q, a.host...)
	q = append(q, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	q = strconv.AppendInt(q, int64(len(body)), 10)
	if token != "" {
		q = append(q, "\r\nAuthorization: Bearer "...)
		q = append(q, token...)
	}
	q = append(q, "\r\n\r\n"...)
	q = append(q, body...)
	a.req = q
	if _, err := a.c.Write(q); err != nil {
		return 0, 0, false, err
	}
	line, err := a.line()
	if err != nil {
		return 0, 0, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, 0, false, fmt.Errorf("answer's status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, 0, false, fmt.Errorf("answer's status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := a.line()
		if err != nil {
			return 0, 0, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, false, fmt.Errorf("answer's header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case equalFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, 0, false, fmt.Errorf("answer's Content-Length %q", value)
			}
		case equalFold(name, "Transfer-Encoding"):
			chunked = equalFold(value, "chunked")
		case equalFold(name, "Connection"):
			closing = equalFold(value, "close")
		case equalFold(name, "Retry-After"):
			if s, err := strconv.Atoi(string(value)); err == nil && s > 0 {
				retryAfter = time.Duration(s) * time.Second
			}
		}
	}
	switch {
	case chunked:
		if a.body, err = appendAll(a.body[:0], httputil.NewChunkedReader(a.r)); err == nil {
			err = a.skipTrailer()
		}
	case length >= 0:
		a.body = slices.Grow(a.body[:0], length)[:length]
		_, err = io.ReadFull(a.r, a.body)
	default:
		return 0, 0, false, errors.New("answer with neither Content-Length nor chunks")
	}
	return status, retryAfter, !closing, err
}

// skipTrailer reads the trailer after the last chunk, up to its blank
// line.
func (a *apiConn) skipTrailer() error {
	for {
		line, err := a.line()
		if err != nil || len(line) == 0 {
			return err
		}
	}
}

// line reads one header line without its CRLF.
func (a *apiConn) line() ([]byte, error) {
	line, err := a.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func equalFold(b []byte, s string) bool { return strings.EqualFold(string(b), s) }

// appendAll appends what r holds to b.
func appendAll(b []byte, r io.Reader) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
