// Package oidcop is Gatehouse's OpenID Connect provider: the protocol
// (discovery, JWKS, authorization, token, userinfo, revocation,
// introspection, end session) spoken by github.com/zitadel/oidc/v3/pkg/op
// over the rules of package auth. It keeps no state of its own: every
// request, code, token, consent and key is in the store, so any node
// serves any step. docs/OIDC.md describes it for the people who connect
// apps; docs/DESIGN.md says why the library, and what Gatehouse adds to it.
package oidcop
