package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/server"
)

func mkdirData(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	return nil
}

func cmdServe(ctx context.Context, env environment, args []string) error {
	var o options
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	o.serveFlags(fs)
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	proxies, err := httpx.ParseProxies(o.trustedProxies)
	if err != nil {
		return usageError{err.Error()}
	}

	worker := &mail.Worker{}
	a, err := openApp(ctx, o, env.stderr, worker.Notify)
	if err != nil {
		return err
	}
	defer a.Close()
	log := a.log

	sender, err := mail.NewSender(o.smtpURL, nil)
	if err != nil {
		return usageError{fmt.Sprintf("--smtp-url: %v", err)}
	}
	if sender == nil {
		dir := filepath.Join(o.data, "mail")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create mail folder: %w", err)
		}
		sender = mail.NewFileSender(dir, log)
		log.Info("no --smtp-url: mail is written to the log and to files", "dir", dir)
	}
	sent := a.registry.NewCounterVec("gatehouse_mail_delivered_total", "Mail delivery attempts by outcome.", "outcome")
	worker.Queue, worker.Sender, worker.Log = a.svc.Outbox(), sender, log
	worker.OnSent = func() { sent.Inc("sent") }
	worker.OnFailed = func() { sent.Inc("failed") }
	worker.OnRetry = func() { sent.Inc("retry") }
	registerGauges(a)

	cat, err := i18n.Load()
	if err != nil {
		return err
	}
	handler, err := server.New(a.svc, a.db, cat, a.registry, server.Config{PublicURL: a.svc.Config().PublicURL, Proxies: proxies}, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}

	// Background work: mail delivery, reset requests, housekeeping. They
	// stop after the HTTP server has finished its requests.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(bg) })
	wg.Go(func() { a.svc.RunResetRequests(bg) })
	wg.Go(func() { a.svc.RunHousekeeping(bg) })

	log.Info("gatehouse serving", "addr", ln.Addr().String(), "public_url", a.svc.Config().PublicURL,
		"database", string(a.db.Dialect()), "version", version())
	if link, err := a.svc.SetupLink(ctx); err != nil {
		log.Error("make setup link", "err", err)
	} else if link != "" {
		log.Info("no company yet: open the setup link to create the first company and its admin", "link", link)
		fmt.Fprintf(env.stdout, "\nGatehouse is ready. Open this one-time link to create your company and admin account:\n\n    %s\n\n", link)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopBG()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBG()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// registerGauges exposes the hashing queue and the outbox.
func registerGauges(a *app) {
	a.registry.NewGaugeFunc("gatehouse_hash_running", "Password hashes running now.", func() float64 {
		running, _, _ := a.hasher.Stats()
		return float64(running)
	})
	a.registry.NewGaugeFunc("gatehouse_hash_waiting", "Requests waiting for a hashing slot.", func() float64 {
		_, waiting, _ := a.hasher.Stats()
		return float64(waiting)
	})
	a.registry.NewGaugeFunc("gatehouse_hash_rejected_total", "Requests answered 503 because the hashing queue was full.", func() float64 {
		_, _, busy := a.hasher.Stats()
		return float64(busy)
	})
	a.registry.NewGaugeFunc("gatehouse_mail_pending", "Messages waiting in the outbox.", func() float64 {
		pending, _, _ := a.svc.MailCounts(context.Background())
		return float64(pending)
	})
	a.registry.NewGaugeFunc("gatehouse_mail_failed", "Messages that failed for good.", func() float64 {
		_, failed, _ := a.svc.MailCounts(context.Background())
		return float64(failed)
	})
}
