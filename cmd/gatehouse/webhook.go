package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The operator's webhook endpoints (docs/WEBHOOKS.md): for one company, or
// without --company for every company's events. Deliveries are sent by
// the running servers.

func cmdWebhook(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "create":
			return cmdWebhookCreate(ctx, env, args[1:])
		case "list":
			return cmdWebhookList(ctx, env, args[1:])
		case "delete":
			return cmdWebhookDelete(ctx, env, args[1:])
		}
	}
	return usageError{`"webhook" needs a subcommand: create, list or delete`}
}

// listFlag collects a flag given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func cmdWebhookCreate(ctx context.Context, env environment, args []string) error {
	var o options
	var url, company string
	var events listFlag
	fs := flag.NewFlagSet("webhook create", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	o.webhookFlags(fs)
	fs.StringVar(&url, "url", "", "the endpoint's URL (https)")
	fs.StringVar(&company, "company", "", "the company whose events it receives; without it, every company's")
	fs.Var(&events, "event", "an event type it receives (repeat for several; none: every type): "+
		strings.Join(gatehouse.WebhookEventTypes, ", "))
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if url == "" {
		return usageError{"webhook create needs --url"}
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	created, err := a.Service.OperatorCreateWebhook(ctx, company, auth.NewWebhook{URL: url, Events: events}, cliClient)
	if err != nil {
		return explain(err)
	}
	return json.NewEncoder(env.stdout).Encode(map[string]string{"id": created.Endpoint.ID, "secret": created.Secret})
}

func cmdWebhookList(ctx context.Context, env environment, args []string) error {
	var o options
	var company string
	fs := flag.NewFlagSet("webhook list", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&company, "company", "", "list this company's endpoints; without it, the operator's")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Service.OperatorWebhooks(ctx, company)
	if err != nil {
		return explain(err)
	}
	// One JSON object a line, without secrets.
	enc := json.NewEncoder(env.stdout)
	for _, e := range list {
		events := e.Events
		if events == nil {
			events = []string{}
		}
		state := "enabled"
		if e.Disabled() {
			state = "disabled: " + e.DisabledReason
		}
		if err := enc.Encode(map[string]any{"id": e.ID, "company_id": e.CompanyID, "url": e.URL, "events": events,
			"state": state, "last_error": e.LastError}); err != nil {
			return err
		}
	}
	return nil
}

func cmdWebhookDelete(ctx context.Context, env environment, args []string) error {
	var o options
	var id string
	fs := flag.NewFlagSet("webhook delete", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&id, "id", "", "the endpoint's ID")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if id == "" {
		return usageError{"webhook delete needs --id"}
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Service.OperatorDeleteWebhook(ctx, id, cliClient); err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.stdout, "Deleted webhook endpoint %s and its deliveries.\n", id)
	return nil
}
