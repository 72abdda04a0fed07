package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clip"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/webhook"
)

// WebhookQueue returns the webhook worker's view of the outbox: it claims
// deliveries with their endpoints' URLs and opened keys, and records
// outcomes, deciding here whether a failure is retried, given up or
// disables its endpoint.
func (s *Service) WebhookQueue() webhook.Queue { return &webhookQueue{svc: s} }

// WebhooksQueued receives after each commit that queued deliveries: the
// webhook worker's Wake.
func (s *Service) WebhooksQueued() <-chan struct{} { return s.webhooksQueued }

type webhookQueue struct{ svc *Service }

// webhookErrLimit keeps one receiver's answer from bloating the rows.
const webhookErrLimit = 500

// Claim leases due deliveries and opens their endpoints' keys. A key that
// does not open (another node's --secret-key-file) fails the delivery for
// good with a message that says why: retrying cannot help.
func (q *webhookQueue) Claim(ctx context.Context, n int, lease time.Duration, skip []string) ([]webhook.Delivery, error) {
	var claimed []*gatehouse.WebhookDelivery
	endpoints := map[string]*gatehouse.WebhookEndpoint{}
	var now time.Time
	err := q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) (err error) {
		now = tx.Now()
		clear(endpoints)
		if claimed, err = tx.ClaimWebhookDeliveries(n, now.Add(lease), skip); err != nil {
			return err
		}
		for _, d := range claimed {
			if endpoints[d.EndpointID] == nil {
				if endpoints[d.EndpointID], err = tx.WebhookEndpoint(d.EndpointID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := map[string][][]byte{}
	out := make([]webhook.Delivery, 0, len(claimed))
	for _, d := range claimed {
		e := endpoints[d.EndpointID]
		k, ok := keys[e.ID]
		if !ok {
			if k, err = q.svc.webhookKeys(e, now); err != nil {
				q.svc.log.Error("webhook secret cannot be opened: is --secret-key-file the same on every node?", "endpoint", e.ID, "err", err)
				k = nil
			}
			keys[e.ID] = k
		}
		if k == nil {
			a := gatehouse.WebhookAttempt{DeliveryID: d.ID, At: time.Now(), Error: "the signing secret cannot be opened with this node's key"}
			if err := q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.WebhookFailed(a) }); err != nil {
				return nil, err
			}
			q.svc.metrics.WebhooksGivenUp.Inc(givenUpSecret)
			continue
		}
		out = append(out, webhook.Delivery{ID: d.ID, EndpointID: e.ID, Attempt: d.Attempts,
			Message: webhook.Message{URL: e.URL, ID: d.MessageID, Body: d.Body, Keys: k}})
	}
	return out, nil
}

// webhookKeys opens the keys that sign for e at now: its secret, and the
// one it replaced while that still signs.
func (s *Service) webhookKeys(e *gatehouse.WebhookEndpoint, now time.Time) ([][]byte, error) {
	key, err := s.sealer.Open(e.Secret, webhookAAD(e.ID))
	if err != nil {
		return nil, err
	}
	keys := [][]byte{key}
	if e.PreviousSecret != nil && now.Before(e.PreviousUntil) {
		prev, err := s.sealer.Open(e.PreviousSecret, webhookAAD(e.ID))
		if err != nil {
			return nil, err
		}
		keys = append(keys, prev)
	}
	return keys, nil
}

// Release gives unattempted deliveries back.
func (q *webhookQueue) Release(ctx context.Context, ids []string) error {
	return q.svc.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error { return tx.ReleaseWebhookDeliveries(ids...) })
}

// Record writes a group of outcomes in one background transaction: the
// successes in one statement, each failure retried (webhook.RetryWait),
// given up once the delivery has failed for WebhookRetryFor, or — when
// its endpoint has failed without a success for WebhookDisableAfter, or
// answered 410 Gone — disabling the endpoint.
//
// It locks the endpoints of the group first, in ID order, before it
// reads or writes any delivery: two nodes recording at once then never
// wait for each other in a cycle, and an outcome is read and written
// after every outcome of the same endpoint committed before it. So the
// failure of an attempt recorded after a later attempt's success sees the
// delivery delivered, and leaves it and its endpoint alone.
//
// What the group decided beyond retries (a delivery given up, an
// endpoint disabled) is logged and counted once the transaction commits.
func (q *webhookQueue) Record(ctx context.Context, results []webhook.Result) error {
	s := q.svc
	var reports []func()
	report := func(f func()) { reports = append(reports, f) }
	err := s.updateBackground(ctx, func(tx gatehouse.Tx, o *outcome) error {
		reports = reports[:0]
		ids := make([]string, 0, len(results))
		for _, r := range results {
			ids = append(ids, r.EndpointID)
		}
		locked, err := tx.LockWebhookEndpoints(ids...)
		if err != nil {
			return err
		}
		endpoints := make(map[string]*gatehouse.WebhookEndpoint, len(locked))
		for _, e := range locked {
			endpoints[e.ID] = e
		}
		var delivered []gatehouse.WebhookAttempt
		var succeeded []string
		for _, r := range results {
			e := endpoints[r.EndpointID]
			if e == nil {
				continue // deleted while the attempt was made
			}
			a := gatehouse.WebhookAttempt{DeliveryID: r.DeliveryID, At: r.At, Status: r.Status}
			if r.Err == nil {
				delivered = append(delivered, a)
				if !slices.Contains(succeeded, e.ID) {
					succeeded = append(succeeded, e.ID)
				}
				continue
			}
			a.Error = clip.Prefix(r.Err.Error(), webhookErrLimit)
			if err := s.recordFailure(tx, o, e, r, a, report); err != nil {
				return err
			}
		}
		if err := tx.WebhookDelivered(delivered...); err != nil {
			return err
		}
		return tx.WebhooksSucceeded(succeeded...)
	})
	if err != nil {
		return err
	}
	for _, f := range reports {
		f()
	}
	return nil
}

// recordFailure schedules the retry of a failed attempt, or gives up on
// the delivery, or disables the endpoint. A delivery that another attempt
// delivered meanwhile keeps its outcome. report takes what to log and
// count once the transaction commits.
func (s *Service) recordFailure(tx gatehouse.Tx, o *outcome, e *gatehouse.WebhookEndpoint, r webhook.Result, a gatehouse.WebhookAttempt,
	report func(func())) error {
	d, err := tx.WebhookDelivery(r.DeliveryID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case d.State() == gatehouse.DeliveryDelivered:
		return nil
	case d.State() == gatehouse.DeliveryFailed || e.Disabled():
		return tx.WebhookFailed(a) // the endpoint was disabled while the attempt ran
	}
	since, err := tx.MarkWebhookFailing(e.ID, a.Error)
	if err != nil {
		return err
	}
	now := tx.Now()
	reason := ""
	switch {
	case r.Status == http.StatusGone:
		reason = gatehouse.WebhookDisabledGone
	case now.Sub(since) >= WebhookDisableAfter:
		reason = gatehouse.WebhookDisabledFailing
	}
	if reason != "" {
		if err := tx.WebhookFailed(a); err != nil {
			return err
		}
		return s.disableWebhook(tx, o, e, reason, since, r.Status, a.Error, report)
	}
	if now.Sub(d.RetryFrom) >= WebhookRetryFor {
		report(func() {
			s.log.Warn("webhook delivery given up: it failed at every attempt for "+WebhookRetryFor.String()+"; the endpoint stays enabled, "+
				"and the company's admins can resend it from the endpoint's page",
				"delivery", d.ID, "webhook_id", d.MessageID, "type", d.Type, "endpoint", e.ID, "company", e.CompanyID,
				"host", urlHost(e.URL), "attempts", r.Attempt, "retrying_since", d.RetryFrom.UTC().Format(time.RFC3339),
				"last_status", r.Status, "err", a.Error)
			s.metrics.WebhooksGivenUp.Inc(givenUpExpired)
		})
		return tx.WebhookFailed(a)
	}
	return tx.WebhookRetry(a, now.Add(webhook.RetryWait(r.Attempt, r.RetryAfter)))
}

// disableWebhook stops deliveries to e, audits it and tells the company's
// admins by mail, with the reason and the page where they enable it again.
// The operator's endpoints have no admins: the log says it.
//
// The log line says what an operator needs to act or to answer the
// company: whose endpoint, its host (not its URL, whose path or query may
// hold the receiver's token), how long and how often it failed, its last
// answer, and how many waiting deliveries were given up with it.
func (s *Service) disableWebhook(tx gatehouse.Tx, o *outcome, e *gatehouse.WebhookEndpoint, reason string, since time.Time,
	lastStatus int, lastErr string, report func(func())) error {
	gaveUp, err := tx.DisableWebhookEndpoint(e.ID, reason)
	if err != nil {
		return err
	}
	gaveUp++ // the delivery whose failure disabled it
	failures, err := tx.WebhookFailedAttempts(e.ID, since)
	if err != nil {
		return err
	}
	e.DisabledAt, e.DisabledReason = tx.Now(), reason
	ev := event(gatehouse.EventWebhookDisabled, e.CompanyID, "", "", Client{})
	ev.Detail = "endpoint=" + e.ID + " reason=" + reason
	if err := s.audit(tx, ev); err != nil {
		return err
	}
	why := "the receiver answered 410 Gone"
	if reason == gatehouse.WebhookDisabledFailing {
		why = "every attempt failed for " + tx.Now().Sub(since).Round(time.Minute).String()
	}
	attrs := []any{"endpoint", e.ID, "company", e.CompanyID, "host", urlHost(e.URL), "reason", reason,
		"failing_since", since.UTC().Format(time.RFC3339), "failed_attempts", failures, "last_status", lastStatus, "err", lastErr,
		"deliveries_given_up", gaveUp}
	if e.CompanyID == "" {
		report(func() {
			s.log.Warn("webhook endpoint disabled: "+why+"; it is the operator's (every company's events): "+
				"fix the receiver, then register it again (gatehouse webhook list, delete, create)", attrs...)
			s.countDisabled(reason, gaveUp)
		})
		return nil
	}
	company, err := tx.Company(e.CompanyID)
	if err != nil {
		return err
	}
	report(func() {
		s.log.Warn("webhook endpoint disabled: "+why+"; the company's admins are told by mail and can enable it on its page",
			append(attrs, "company_name", company.Name)...)
		s.countDisabled(reason, gaveUp)
	})
	action := mail.ActionWebhookFailing
	if reason == gatehouse.WebhookDisabledGone {
		action = mail.ActionWebhookGone
	}
	return eachActiveAdmin(tx, e.CompanyID, func(admin *gatehouse.User) error {
		d := mail.Data{Name: admin.Name, Email: admin.Email, Company: company.Name, Endpoint: e.URL,
			Reason: lastErr, Since: since, At: tx.Now(), Action: action,
			Link: s.cfg.PublicURL + WebhooksPath + "/" + e.ID}
		return s.queueMail(tx, o, admin, Client{}, mail.MessageWebhookDisabled, d)
	})
}

// countDisabled counts an endpoint disabled and the deliveries given up
// with it.
func (s *Service) countDisabled(reason string, gaveUp int) {
	s.metrics.WebhooksDisabled.Inc(reason)
	s.metrics.WebhooksGivenUp.Add(givenUpDisabled, float64(gaveUp))
}

// urlHost is the host (and port) of an endpoint's URL, for the log.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// eachActiveAdmin calls f for every active admin of the company.
func eachActiveAdmin(tx gatehouse.Tx, companyID string, f func(*gatehouse.User) error) error {
	after := ""
	for {
		admins, err := tx.ListUsers(gatehouse.UserFilter{CompanyID: companyID, Role: gatehouse.RoleAdmin, After: after, Limit: 100})
		if err != nil {
			return err
		}
		for _, a := range admins {
			if a.Status() != gatehouse.StatusActive {
				continue
			}
			if err := f(a); err != nil {
				return err
			}
		}
		if len(admins) < 100 {
			return nil
		}
		after = admins[len(admins)-1].Email
	}
}

// OldestDueWebhook returns how long the delivery due longest has waited
// to be sent: 0 when none is due.
func (s *Service) OldestDueWebhook(ctx context.Context) (time.Duration, error) {
	var due time.Time
	var now time.Time
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		now = tx.Now()
		due, err = tx.OldestDueWebhook()
		return err
	})
	if err != nil || due.IsZero() {
		return 0, err
	}
	return max(now.Sub(due), 0), nil
}

// WebhookCounts returns the number of deliveries waiting and failed.
func (s *Service) WebhookCounts(ctx context.Context) (pending, failed int, err error) {
	err = s.store.View(ctx, func(tx gatehouse.Tx) error {
		pending, failed, err = tx.WebhookCounts()
		return err
	})
	return pending, failed, err
}

// deleteOldWebhookDeliveries is housekeeping's share of the webhooks.
func deleteOldWebhookDeliveries(tx gatehouse.Tx) (int, error) {
	n, err := tx.DeleteOldWebhookDeliveries(tx.Now().Add(-keepWebhookDeliveries))
	if err != nil {
		return n, fmt.Errorf("delete old webhook deliveries: %w", err)
	}
	return n, nil
}
