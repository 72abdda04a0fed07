package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/server"
)

// The operator's API keys (../shared/API.md, "API keys and provisioning"):
// an operator key without --company, a company's key with it. Only here
// can an operator key be made.

func cmdAPIKey(ctx context.Context, env environment, args []string) error {
	return dispatch(ctx, env, "api-key", args,
		subcommand{"create", cmdAPIKeyCreate},
		subcommand{"list", cmdAPIKeyList},
		subcommand{"delete", cmdAPIKeyDelete})
}

func cmdAPIKeyCreate(ctx context.Context, env environment, args []string) error {
	var name, company, expires string
	nk := auth.NewAPIKey{}
	return dataCommand{name: "api-key create",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&name, "name", "", "what the key is for, as lists show it")
			fs.StringVar(&company, "company", "", "the company whose admin the key acts as; without it, an operator key")
			fs.StringVar(&expires, "expires-at", "", "when the key stops working (RFC 3339, such as 2027-01-31T00:00:00Z); default never")
		},
		check: func(*flag.FlagSet) error {
			if err := need("api-key create", "name", name); err != nil {
				return err
			}
			nk.Name = name
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return usageError{"--expires-at: not an RFC 3339 time such as 2027-01-31T00:00:00Z"}
				}
				nk.ExpiresAt = t
			}
			return nil
		},
		run: func(a *server.App) error {
			created, err := a.Service.OperatorCreateAPIKey(ctx, company, nk, cliClient)
			if err != nil {
				return err
			}
			return printJSON(env.stdout, map[string]string{"id": created.APIKey.ID, "key": created.Key})
		}}.exec(ctx, env, args)
}

func cmdAPIKeyList(ctx context.Context, env environment, args []string) error {
	var company string
	return dataCommand{name: "api-key list",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&company, "company", "", "list this company's keys; without it, the operator keys")
		},
		run: func(a *server.App) error {
			list, err := a.Service.OperatorAPIKeys(ctx, company)
			if err != nil {
				return err
			}
			// One JSON object a line; the keys themselves are never shown again.
			return printJSONLines(env.stdout, list, func(k *gatehouse.APIKey) any {
				return map[string]any{"id": k.ID, "company_id": k.CompanyID, "name": k.Name,
					"created_at": cliTime(k.CreatedAt), "expires_at": cliTime(k.ExpiresAt), "last_used_at": cliTime(k.LastUsedAt)}
			})
		}}.exec(ctx, env, args)
}

// cliTime is a time as the command line prints it: RFC 3339, or null.
func cliTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdAPIKeyDelete(ctx context.Context, env environment, args []string) error {
	var id string
	return dataCommand{name: "api-key delete",
		flags: func(fs *flag.FlagSet, _ *options) { fs.StringVar(&id, "id", "", "the key's ID") },
		check: func(*flag.FlagSet) error { return need("api-key delete", "id", id) },
		run: func(a *server.App) error {
			if err := a.Service.OperatorDeleteAPIKey(ctx, id, cliClient); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.stdout, "Deleted API key %s: it stops working now.\n", id)
			return err
		}}.exec(ctx, env, args)
}
