// Package api is Gatehouse's JSON API under /api/v1: thin handlers that
// decode a request, call package auth, and encode the answer or an RFC 9457
// problem with the contract's error code. The OpenAPI 3.1 document of every
// endpoint is openapi.json, served at /api/v1/openapi.json.
package api
