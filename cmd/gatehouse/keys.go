package main

import (
	"context"

	"github.com/gatehouse/gatehouse/server"
)

// The OpenID Connect provider's signing keys (docs/OIDC.md): created on
// the first start; "keys rotate" makes a new one sign while the old one
// stays published until what it signed has expired. It works while
// servers run: they read which key signs from the database.

func cmdKeys(ctx context.Context, env environment, args []string) error {
	return dispatch(ctx, env, "keys", args, subcommand{"rotate", dataCommand{name: "keys rotate",
		run: func(a *server.App) error {
			kid, err := a.Service.RotateSigningKey(ctx)
			if err != nil {
				return err
			}
			return printJSON(env.stdout, map[string]string{"kid": kid})
		}}.exec})
}
