package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The operator's applications (../shared/API.md, "Applications"): for one
// company, or without --company the operator's own, for every company's
// users.

func cmdApp(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "create":
			return cmdAppCreate(ctx, env, args[1:])
		case "list":
			return cmdAppList(ctx, env, args[1:])
		case "delete":
			return cmdAppDelete(ctx, env, args[1:])
		}
	}
	return usageError{`"app" needs a subcommand: create, list or delete`}
}

func cmdAppCreate(ctx context.Context, env environment, args []string) error {
	var o options
	var na auth.NewApplication
	var company, role string
	var redirects, postLogout, hosts listFlag
	fs := flag.NewFlagSet("app create", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&na.Name, "name", "", "the application's name, shown to users")
	fs.StringVar(&company, "company", "", "the company whose users may use it; without it, every company's (the operator's app)")
	fs.Var(&redirects, "redirect-uri", "an OpenID Connect redirect URI, matched exactly (repeat for several)")
	fs.Var(&postLogout, "post-logout-redirect-uri", "a URI to return to after logout, matched exactly (repeat for several)")
	fs.BoolVar(&na.Public, "public", false, "a public client (single-page or native app): no secret, PKCE alone")
	fs.BoolVar(&na.FirstParty, "first-party", false, "skip the consent page (operator apps only)")
	fs.Var(&hosts, "forward-auth-host", "a host a reverse proxy protects with forward auth (repeat for several)")
	fs.StringVar(&role, "require-role", "", `admit only users with this role ("admin")`)
	fs.BoolVar(&na.RequireMFA, "require-mfa", false, "admit only users with a second factor; one without sets it up at login")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if na.Name == "" {
		return usageError{"app create needs --name"}
	}
	na.RedirectURIs, na.PostLogoutRedirectURIs, na.ForwardAuthHosts = redirects, postLogout, hosts
	na.RequireRole = gatehouse.Role(role)
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	created, err := a.Service.OperatorCreateApplication(ctx, company, na, cliClient)
	if err != nil {
		return explain(err)
	}
	out := map[string]string{"client_id": created.Application.ClientID}
	if !created.Application.Public {
		out["client_secret"] = created.ClientSecret
	}
	return json.NewEncoder(env.stdout).Encode(out)
}

// appJSON is an application as the command line and the API show it:
// never its secret.
func appJSON(a *gatehouse.Application) map[string]any {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return map[string]any{"client_id": a.ClientID, "company_id": a.CompanyID, "name": a.Name,
		"redirect_uris": list(a.RedirectURIs), "post_logout_redirect_uris": list(a.PostLogoutRedirectURIs),
		"public": a.Public, "first_party": a.FirstParty, "forward_auth_hosts": list(a.ForwardAuthHosts),
		"require_role": string(a.RequireRole), "require_mfa": a.RequireMFA}
}

func cmdAppList(ctx context.Context, env environment, args []string) error {
	var o options
	fs := flag.NewFlagSet("app list", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Service.OperatorApplications(ctx)
	if err != nil {
		return explain(err)
	}
	// One JSON object a line, without secrets.
	enc := json.NewEncoder(env.stdout)
	for _, app := range list {
		if err := enc.Encode(appJSON(app)); err != nil {
			return err
		}
	}
	return nil
}

func cmdAppDelete(ctx context.Context, env environment, args []string) error {
	var o options
	var clientID string
	fs := flag.NewFlagSet("app delete", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	fs.StringVar(&clientID, "client-id", "", "the application's client ID")
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if clientID == "" {
		return usageError{"app delete needs --client-id"}
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Service.OperatorDeleteApplication(ctx, clientID, cliClient); err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.stdout, "Deleted application %s.\n", clientID)
	return nil
}
