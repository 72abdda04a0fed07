package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/server"
)

// The operator's webhook endpoints (docs/WEBHOOKS.md): for one company, or
// without --company for every company's events. Deliveries are sent by
// the running servers.

func cmdWebhook(ctx context.Context, env environment, args []string) error {
	return dispatch(ctx, env, "webhook", args,
		subcommand{"create", cmdWebhookCreate}, subcommand{"list", cmdWebhookList}, subcommand{"delete", cmdWebhookDelete})
}

func cmdWebhookCreate(ctx context.Context, env environment, args []string) error {
	var url, company string
	var events listFlag
	return dataCommand{name: "webhook create",
		flags: func(fs *flag.FlagSet, o *options) {
			o.webhookFlags(fs)
			fs.StringVar(&url, "url", "", "the endpoint's URL (https)")
			fs.StringVar(&company, "company", "", "the company whose events it receives; without it, every company's")
			fs.Var(&events, "event", "an event type it receives (repeat for several; none: every type): "+
				strings.Join(gatehouse.WebhookEventTypes, ", "))
		},
		check: func(*flag.FlagSet) error { return need("webhook create", "url", url) },
		run: func(a *server.App) error {
			created, err := a.Service.OperatorCreateWebhook(ctx, company, auth.NewWebhook{URL: url, Events: events}, cliClient)
			if err != nil {
				return err
			}
			return printJSON(env.stdout, map[string]string{"id": created.Endpoint.ID, "secret": created.Secret})
		}}.exec(ctx, env, args)
}

func cmdWebhookList(ctx context.Context, env environment, args []string) error {
	var company string
	return dataCommand{name: "webhook list",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&company, "company", "", "list this company's endpoints; without it, the operator's")
		},
		run: func(a *server.App) error {
			list, err := a.Service.OperatorWebhooks(ctx, company)
			if err != nil {
				return err
			}
			// One JSON object a line, without secrets.
			return printJSONLines(env.stdout, list, func(e *gatehouse.WebhookEndpoint) any {
				events := e.Events
				if events == nil {
					events = []string{}
				}
				state := "enabled"
				if e.Disabled() {
					state = "disabled: " + e.DisabledReason
				}
				return map[string]any{"id": e.ID, "company_id": e.CompanyID, "url": e.URL, "events": events,
					"state": state, "last_error": e.LastError}
			})
		}}.exec(ctx, env, args)
}

func cmdWebhookDelete(ctx context.Context, env environment, args []string) error {
	var id string
	return dataCommand{name: "webhook delete",
		flags: func(fs *flag.FlagSet, _ *options) { fs.StringVar(&id, "id", "", "the endpoint's ID") },
		check: func(*flag.FlagSet) error { return need("webhook delete", "id", id) },
		run: func(a *server.App) error {
			if err := a.Service.OperatorDeleteWebhook(ctx, id, cliClient); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.stdout, "Deleted webhook endpoint %s and its deliveries.\n", id)
			return err
		}}.exec(ctx, env, args)
}
