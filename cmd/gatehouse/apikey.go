package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The operator's API keys (../shared/API.md, "API keys and provisioning"):
// an operator key without --company, a company's key with it. Only here
// can an operator key be made.

func cmdAPIKey(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "create":
			return cmdAPIKeyCreate(ctx, env, args[1:])
		case "list":
			return cmdAPIKeyList(ctx, env, args[1:])
		case "delete":
			return cmdAPIKeyDelete(ctx, env, args[1:])
		}
	}
	return usageError{`"api-key" needs a subcommand: create, list or delete`}
}

func cmdAPIKeyCreate(ctx context.Context, env environment, args []string) error {
	var o options
	var name, company, expires string
	fs := flag.NewFlagSet("api-key create", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&name, "name", "", "what the key is for, as lists show it")
	fs.StringVar(&company, "company", "", "the company whose admin the key acts as; without it, an operator key")
	fs.StringVar(&expires, "expires-at", "", "when the key stops working (RFC 3339, such as 2027-01-31T00:00:00Z); default never")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if name == "" {
		return usageError{"api-key create needs --name"}
	}
	nk := auth.NewAPIKey{Name: name}
	if expires != "" {
		t, err := time.Parse(time.RFC3339, expires)
		if err != nil {
			return usageError{"--expires-at: not an RFC 3339 time such as 2027-01-31T00:00:00Z"}
		}
		nk.ExpiresAt = t
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	created, err := a.Service.OperatorCreateAPIKey(ctx, company, nk, cliClient)
	if err != nil {
		return explain(err)
	}
	return json.NewEncoder(env.stdout).Encode(map[string]string{"id": created.APIKey.ID, "key": created.Key})
}

func cmdAPIKeyList(ctx context.Context, env environment, args []string) error {
	var o options
	var company string
	fs := flag.NewFlagSet("api-key list", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&company, "company", "", "list this company's keys; without it, the operator keys")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Service.OperatorAPIKeys(ctx, company)
	if err != nil {
		return explain(err)
	}
	// One JSON object a line; the keys themselves are never shown again.
	enc := json.NewEncoder(env.stdout)
	for _, k := range list {
		if err := enc.Encode(map[string]any{"id": k.ID, "company_id": k.CompanyID, "name": k.Name,
			"created_at": cliTime(k.CreatedAt), "expires_at": cliTime(k.ExpiresAt), "last_used_at": cliTime(k.LastUsedAt)}); err != nil {
			return err
		}
	}
	return nil
}

// cliTime is a time as the command line prints it: RFC 3339, or null.
func cliTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdAPIKeyDelete(ctx context.Context, env environment, args []string) error {
	var o options
	var id string
	fs := flag.NewFlagSet("api-key delete", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&id, "id", "", "the key's ID")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if id == "" {
		return usageError{"api-key delete needs --id"}
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Service.OperatorDeleteAPIKey(ctx, id, cliClient); err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.stdout, "Deleted API key %s: it stops working now.\n", id)
	return nil
}
