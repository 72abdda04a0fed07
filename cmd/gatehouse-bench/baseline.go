package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The bare baseline: a plain net/http server that answers every request
// with the bytes and headers of a real GET /api/v1/me answer, captured
// from Gatehouse in the same run. It is what the machine can do for this
// answer with no session lookup at all, so Gatehouse's session check is
// measured as a fraction of it.

// writeCapture saves an answer for the baseline: the body, and the headers
// as "Name: value" lines (Date and Content-Length are the server's own).
func writeCapture(bodyPath, headerPath string, h http.Header, body []byte) error {
	var b strings.Builder
	for name, vals := range h {
		if name == "Date" || name == "Content-Length" {
			continue
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	if err := os.WriteFile(headerPath, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.WriteFile(bodyPath, body, 0o600)
}

// readHeaders parses the header file writeCapture makes.
func readHeaders(r io.Reader) (http.Header, error) {
	h := http.Header{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			return nil, fmt.Errorf("header line %q has no colon", sc.Text())
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(val))
	}
	return h, sc.Err()
}

func runBaseline(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	bodyFile := fs.String("body", "", "file with the answer's body")
	headerFile := fs.String("headers", "", "file with the answer's headers, one \"Name: value\" a line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bodyFile == "" {
		return errors.New("--body is required")
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if *headerFile != "" {
		f, err := os.Open(*headerFile)
		if err != nil {
			return err
		}
		h, err = readHeaders(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "baseline serving %d bytes on %s\n", len(body), *addr)
	return serveBare(ctx, *addr, bareHandler(h, body))
}

// serveBare serves handler on addr until ctx ends.
func serveBare(ctx context.Context, addr string, handler http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runBareAuth serves the bare auth_request handler (bareAuthHandler) with
// the sessions of a file of "token email" lines.
func runBareAuth(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-bench bare-auth", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "address to listen on")
	file := fs.String("sessions", "", `file of sessions, one "token email" a line`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--sessions is required")
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	sessions := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if token, email, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			sessions[token] = email
		}
	}
	fmt.Fprintf(stderr, "bare auth handler with %d sessions on %s\n", len(sessions), *addr)
	return serveBare(ctx, *addr, bareAuthHandler(sessions))
}

// bareAuthHandler is the ceiling of any forward-auth service behind nginx
// (issue 15): it only looks the session cookie up in a map, and answers
// 200 with the identity headers Gatehouse sends (the email where Gatehouse
// has one, fixed values for the rest) or 401. /readyz answers 200.
func bareAuthHandler(sessions map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			return
		}
		c, err := r.Cookie("gatehouse_session")
		email, ok := "", false
		if err == nil {
			email, ok = sessions[c.Value]
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h["Remote-User"] = []string{email}
		h["Remote-Email"] = []string{email}
		h["Remote-Name"] = []string{"Bench User"}
		h["Remote-Groups"] = []string{"member"}
		h["Remote-User-Id"] = []string{"06h5000000000000000000000"}
		h["Remote-Company-Id"] = []string{"06h5000000000000000000001"}
	})
}

// bareHandler answers every request with body and the headers h.
func bareHandler(h http.Header, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, vals := range h {
			w.Header()[name] = vals
		}
		w.Write(body)
	})
}
