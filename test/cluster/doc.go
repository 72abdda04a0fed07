// Package cluster tests Gatehouse as it runs behind a load balancer: several
// real `gatehouse serve` processes, built once from ./cmd/gatehouse, on one
// fresh PostgreSQL database, talked to over HTTP. Each test proves one
// promise of "many nodes, one truth": sessions, TOTP steps, throttling,
// tokens and mail are shared through the database, and the nodes survive
// the database going away.
package cluster
