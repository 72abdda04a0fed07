// Package gatehouse is the vocabulary of Gatehouse, an account-security service
// for multi-tenant SaaS products: companies, their users, sessions, login
// challenges, single-use tokens, audit events, the error type with its stable
// codes, and the interfaces the other packages implement (Store, Clock).
//
// It imports the standard library only, and not net/http: which HTTP status
// an error code answers with is decided by internal/httpx. The rules live in
// package auth, the SQL in package sqldb, HTTP in packages api and web.
package gatehouse
