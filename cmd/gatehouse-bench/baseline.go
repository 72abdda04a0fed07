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
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: bareHandler(h, body), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(stderr, "baseline serving %d bytes on %s\n", len(body), ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
