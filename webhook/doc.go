// Package webhook owns everything between "the service wrote a delivery to
// the webhook outbox" and "a receiver answered 2xx":
//
//   - CheckAddress and Policy: where webhooks may go. Loopback, private,
//     link-local and every other internal range are refused, at
//     registration (Policy.CheckURL) and again at every connection, in the
//     dialer's Control function, on the address actually dialled (DNS
//     rebinding). Policy.AllowPrivate (--webhook-allow-private) lifts the
//     rule for development and tests.
//   - Sign, NewSecret, FormatSecret: Standard Webhooks signatures
//     (webhook-id, webhook-timestamp, webhook-signature "v1,<base64
//     HMAC-SHA256 of id.timestamp.body>", several while a rotated key
//     still signs); NewPayload, User, Company: the bodies.
//   - Client: one attempt, with timeouts on every step, no redirects, no
//     proxy, a small limit on the answer read.
//   - Worker: claims due deliveries with a lease (a crashed node's return
//     when it ends), gives each endpoint a lane of its own so that a slow
//     receiver delays nobody else, and records outcomes in groups through
//     the Queue interface, which package auth implements: whether to retry,
//     give up or disable an endpoint is decided there (Backoff and
//     RetryWait give the schedule).
//
// See docs/WEBHOOKS.md for what receivers see.
package webhook
