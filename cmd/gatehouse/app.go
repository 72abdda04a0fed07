package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/server"
)

// The operator's applications (../shared/API.md, "Applications"): for one
// company, or without --company the operator's own, for every company's
// users.

func cmdApp(ctx context.Context, env environment, args []string) error {
	return dispatch(ctx, env, "app", args,
		subcommand{"create", cmdAppCreate}, subcommand{"update", cmdAppUpdate}, subcommand{"list", cmdAppList},
		subcommand{"delete", cmdAppDelete})
}

func cmdAppCreate(ctx context.Context, env environment, args []string) error {
	var na auth.NewApplication
	var company, role string
	var redirects, postLogout, hosts listFlag
	return dataCommand{name: "app create",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&na.Name, "name", "", "the application's name, shown to users")
			fs.StringVar(&company, "company", "", "the company whose users may use it; without it, every company's (the operator's app)")
			fs.Var(&redirects, "redirect-uri", "an OpenID Connect redirect URI, matched exactly (repeat for several)")
			fs.Var(&postLogout, "post-logout-redirect-uri", "a URI to return to after logout, matched exactly (repeat for several)")
			fs.BoolVar(&na.Public, "public", false, "a public client (single-page or native app): no secret, PKCE alone")
			fs.BoolVar(&na.FirstParty, "first-party", false, "skip the consent page (operator apps only)")
			fs.Var(&hosts, "forward-auth-host", "a host a reverse proxy protects with forward auth (repeat for several)")
			fs.StringVar(&role, "require-role", "", `admit only users with this role ("admin")`)
			fs.BoolVar(&na.RequireMFA, "require-mfa", false, "admit only users with a second factor; one without sets it up at login")
		},
		check: func(*flag.FlagSet) error { return need("app create", "name", na.Name) },
		run: func(a *server.App) error {
			na.RedirectURIs, na.PostLogoutRedirectURIs, na.ForwardAuthHosts = redirects, postLogout, hosts
			na.RequireRole = gatehouse.Role(role)
			created, err := a.Service.OperatorCreateApplication(ctx, company, na, cliClient)
			if err != nil {
				return err
			}
			out := map[string]string{"client_id": created.Application.ClientID}
			if !created.Application.Public {
				out["client_secret"] = created.ClientSecret
			}
			return printJSON(env.stdout, out)
		}}.exec(ctx, env, args)
}

// cmdAppUpdate changes any app, the operator's too, with the flags of
// app create but --company (an app stays with its company): only the
// flags given change. A list flag given replaces the list; given once
// as "" it clears it. --public may only repeat what the app is.
func cmdAppUpdate(ctx context.Context, env environment, args []string) error {
	var clientID, name, role string
	var public, firstParty, requireMFA bool
	var redirects, postLogout, hosts listFlag
	var ch auth.ApplicationChange
	return dataCommand{name: "app update",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&clientID, "client-id", "", "the application's client ID")
			fs.StringVar(&name, "name", "", "the application's name, shown to users")
			fs.Var(&redirects, "redirect-uri", `an OpenID Connect redirect URI (repeat for several; they replace the app's; "" clears them)`)
			fs.Var(&postLogout, "post-logout-redirect-uri", `a URI to return to after logout (repeat for several; they replace the app's; "" clears them)`)
			fs.BoolVar(&public, "public", false, "whether the app is a public client: it cannot change, so only what it is")
			fs.BoolVar(&firstParty, "first-party", false, "skip the consent page (operator apps only); --first-party=false asks again")
			fs.Var(&hosts, "forward-auth-host", `a host a reverse proxy protects (repeat for several; they replace the app's; "" clears them)`)
			fs.StringVar(&role, "require-role", "", `admit only users with this role ("admin"); "" admits every role`)
			fs.BoolVar(&requireMFA, "require-mfa", false, "admit only users with a second factor; --require-mfa=false lifts it")
		},
		check: func(fs *flag.FlagSet) error {
			if err := need("app update", "client-id", clientID); err != nil {
				return err
			}
			changes := 0
			fs.Visit(func(f *flag.Flag) {
				changes++
				switch f.Name {
				case "name":
					ch.Name = &name
				case "redirect-uri":
					ch.RedirectURIs = clearable(redirects)
				case "post-logout-redirect-uri":
					ch.PostLogoutRedirectURIs = clearable(postLogout)
				case "public":
					ch.Public = &public
				case "first-party":
					ch.FirstParty = &firstParty
				case "forward-auth-host":
					ch.ForwardAuthHosts = clearable(hosts)
				case "require-role":
					r := gatehouse.Role(role)
					ch.RequireRole = &r
				case "require-mfa":
					ch.RequireMFA = &requireMFA
				default:
					changes-- // --client-id, the data flags
				}
			})
			if changes == 0 {
				return usageError{"app update needs something to change: --name, --redirect-uri, --forward-auth-host, --require-role, ..."}
			}
			return nil
		},
		run: func(a *server.App) error {
			app, err := a.Service.OperatorUpdateApplication(ctx, clientID, ch, cliClient)
			if err != nil {
				return err
			}
			return printJSON(env.stdout, appJSON(app))
		}}.exec(ctx, env, args)
}

// clearable is a list flag as a change takes it: given once as "", an
// empty list, which clears.
func clearable(l listFlag) []string {
	if len(l) == 1 && l[0] == "" {
		return []string{}
	}
	return l
}

// appJSON is an application as the command line and the API show it:
// never its secret.
func appJSON(a *gatehouse.Application) any {
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
	return dataCommand{name: "app list",
		run: func(a *server.App) error {
			list, err := a.Service.OperatorApplications(ctx)
			if err != nil {
				return err
			}
			// One JSON object a line, without secrets.
			return printJSONLines(env.stdout, list, appJSON)
		}}.exec(ctx, env, args)
}

func cmdAppDelete(ctx context.Context, env environment, args []string) error {
	var clientID string
	return dataCommand{name: "app delete",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&clientID, "client-id", "", "the application's client ID")
		},
		check: func(*flag.FlagSet) error { return need("app delete", "client-id", clientID) },
		run: func(a *server.App) error {
			if err := a.Service.OperatorDeleteApplication(ctx, clientID, cliClient); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.stdout, "Deleted application %s.\n", clientID)
			return err
		}}.exec(ctx, env, args)
}
