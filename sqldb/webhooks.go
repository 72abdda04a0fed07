package sqldb

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

const endpointColumns = `id, company_id, url, events, secret, previous_secret, previous_until, created_at,
	failing_since, last_error, disabled_at, disabled_reason`

func scanEndpoint(s scanner) (*gatehouse.WebhookEndpoint, error) {
	var e gatehouse.WebhookEndpoint
	var events string
	var prevUntil, created, failing, disabled int64
	if err := s.Scan(&e.ID, &e.CompanyID, &e.URL, &events, &e.Secret, &e.PreviousSecret, &prevUntil, &created,
		&failing, &e.LastError, &disabled, &e.DisabledReason); err != nil {
		return nil, err
	}
	e.Events = strings.Fields(events)
	e.PreviousUntil, e.CreatedAt = fromMS(prevUntil), fromMS(created)
	e.FailingSince, e.DisabledAt = fromMS(failing), fromMS(disabled)
	return &e, nil
}

// CreateWebhookEndpoint inserts e.
func (tx *Tx) CreateWebhookEndpoint(e *gatehouse.WebhookEndpoint) error {
	_, err := tx.exec(`INSERT INTO webhook_endpoints (id, company_id, url, events, secret, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, e.CompanyID, e.URL, strings.Join(e.Events, " "), e.Secret, ms(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert webhook endpoint: %w", err)
	}
	return nil
}

// WebhookEndpoint returns the endpoint with the given ID.
func (tx *Tx) WebhookEndpoint(id string) (*gatehouse.WebhookEndpoint, error) {
	e, err := scanEndpoint(tx.queryRow(`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "Webhook endpoint")
	}
	return e, nil
}

// LockWebhookEndpoints returns the endpoints, locked on PostgreSQL until
// the transaction ends, in ID order: a transaction that records outcomes
// of deliveries locks their endpoints before it touches any delivery, and
// every such transaction takes them in the same order, so that none waits
// for another that waits for it. FOR NO KEY UPDATE, as an UPDATE of the
// row takes: requests that queue deliveries (whose foreign key takes a
// KEY SHARE lock) do not wait for it. SQLite has one writer.
func (tx *Tx) LockWebhookEndpoints(ids ...string) ([]*gatehouse.WebhookEndpoint, error) {
	lock := ""
	if tx.db.dialect == Postgres {
		lock = " FOR NO KEY UPDATE"
	}
	var list []*gatehouse.WebhookEndpoint
	err := tx.inBatches(slices.Sorted(slices.Values(ids)), func(in string, args []any) error {
		es, err := tx.endpoints(`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id IN (`+in+`) ORDER BY id`+lock, args...)
		list = append(list, es...)
		return err
	})
	return list, err
}

// WebhookEndpoints lists the company's endpoints, oldest first; "" lists
// the operator's.
func (tx *Tx) WebhookEndpoints(companyID string) ([]*gatehouse.WebhookEndpoint, error) {
	return tx.endpoints(`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE company_id = $1 ORDER BY id`, companyID)
}

// WebhookReceivers lists the enabled endpoints that hear a company's
// events: the company's own and the operator's.
func (tx *Tx) WebhookReceivers(companyID string) ([]*gatehouse.WebhookEndpoint, error) {
	return tx.endpoints(`SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE company_id IN ($1, '') AND disabled_at = 0 ORDER BY id`, companyID)
}

func (tx *Tx) endpoints(query string, args ...any) ([]*gatehouse.WebhookEndpoint, error) {
	rows, err := tx.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.WebhookEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, rows.Err()
}

// DeleteWebhookEndpoint deletes the endpoint and its deliveries; it
// reports false when there was no such endpoint. On PostgreSQL it locks
// the endpoint before its deliveries, in the order of the worker's
// records (LockWebhookEndpoints).
func (tx *Tx) DeleteWebhookEndpoint(id string) (bool, error) {
	if tx.db.dialect == Postgres {
		if _, err := tx.exec(`SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR UPDATE`, id); err != nil {
			return false, fmt.Errorf("lock webhook endpoint: %w", err)
		}
	}
	if _, err := tx.exec(`DELETE FROM webhook_deliveries WHERE endpoint_id = $1`, id); err != nil {
		return false, fmt.Errorf("delete webhook deliveries: %w", err)
	}
	n, err := tx.exec(`DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("delete webhook endpoint: %w", err)
	}
	return n > 0, nil
}

// SetWebhookSecret replaces the endpoint's secrets.
func (tx *Tx) SetWebhookSecret(id string, secret, previous []byte, previousUntil time.Time) error {
	n, err := tx.exec(`UPDATE webhook_endpoints SET secret = $2, previous_secret = $3, previous_until = $4 WHERE id = $1`,
		id, secret, previous, ms(previousUntil))
	if err != nil {
		return fmt.Errorf("set webhook secret: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Webhook endpoint not found.")
	}
	return nil
}

// MarkWebhookFailing records a failed attempt of the endpoint: the failure
// starts a failing period unless one is running. It returns the start of
// the period.
func (tx *Tx) MarkWebhookFailing(id, lastErr string) (time.Time, error) {
	var since int64
	err := tx.queryRow(`UPDATE webhook_endpoints
		SET failing_since = CASE WHEN failing_since = 0 THEN $2 ELSE failing_since END, last_error = $3
		WHERE id = $1 RETURNING failing_since`, id, ms(tx.now), lastErr).Scan(&since)
	if err != nil {
		return time.Time{}, notFound(err, "Webhook endpoint")
	}
	return fromMS(since), nil
}

// WebhooksSucceeded ends the failing period of the endpoints.
func (tx *Tx) WebhooksSucceeded(ids ...string) error {
	return tx.inBatches(ids, func(list string, args []any) error {
		_, err := tx.exec(`UPDATE webhook_endpoints SET failing_since = 0, last_error = ''
			WHERE id IN (`+list+`) AND (failing_since <> 0 OR last_error <> '')`, args...)
		return err
	})
}

// DisableWebhookEndpoint stops deliveries to the endpoint: its waiting
// deliveries fail with reason, and no new ones are written. It returns
// how many deliveries it gave up.
func (tx *Tx) DisableWebhookEndpoint(id, reason string) (int, error) {
	n, err := tx.exec(`UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1`, id, ms(tx.now), reason)
	if err != nil {
		return 0, fmt.Errorf("disable webhook endpoint: %w", err)
	}
	if n == 0 {
		return 0, gatehouse.Errorf(gatehouse.ENotFound, "Webhook endpoint not found.")
	}
	n, err = tx.exec(`UPDATE webhook_deliveries SET failed_at = $2, lease_until = 0,
		last_error = CASE WHEN last_error = '' THEN 'the endpoint was disabled' ELSE last_error END
		WHERE endpoint_id = $1 AND delivered_at = 0 AND failed_at = 0`, id, ms(tx.now))
	return int(n), err
}

// WebhookFailedAttempts counts the attempts of the endpoint's deliveries
// not delivered and not given up before since: when every attempt since
// has failed, about the endpoint's failures since (the attempts in flight
// count too).
func (tx *Tx) WebhookFailedAttempts(id string, since time.Time) (int, error) {
	var n int
	err := tx.queryRow(`SELECT coalesce(sum(attempts), 0) FROM webhook_deliveries
		WHERE endpoint_id = $1 AND delivered_at = 0 AND (failed_at = 0 OR failed_at >= $2)`, id, ms(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count failed webhook attempts: %w", err)
	}
	return n, nil
}

// EnableWebhookEndpoint lets deliveries go to the endpoint again, with a
// clean record.
func (tx *Tx) EnableWebhookEndpoint(id string) error {
	n, err := tx.exec(`UPDATE webhook_endpoints SET disabled_at = 0, disabled_reason = '', failing_since = 0, last_error = ''
		WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("enable webhook endpoint: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Webhook endpoint not found.")
	}
	return nil
}

const deliveryColumns = `id, endpoint_id, message_id, company_id, type, body, created_at, attempts, retry_from,
	next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, failed_at`

func scanDelivery(s scanner) (*gatehouse.WebhookDelivery, error) {
	var d gatehouse.WebhookDelivery
	var created, retryFrom, next, last, delivered, failed int64
	if err := s.Scan(&d.ID, &d.EndpointID, &d.MessageID, &d.CompanyID, &d.Type, &d.Body, &created, &d.Attempts,
		&retryFrom, &next, &last, &d.LastStatus, &d.LastError, &delivered, &failed); err != nil {
		return nil, err
	}
	d.CreatedAt, d.RetryFrom, d.NextAttemptAt = fromMS(created), fromMS(retryFrom), fromMS(next)
	d.LastAttemptAt, d.DeliveredAt, d.FailedAt = fromMS(last), fromMS(delivered), fromMS(failed)
	return &d, nil
}

func (tx *Tx) deliveries(query string, args ...any) ([]*gatehouse.WebhookDelivery, error) {
	rows, err := tx.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// EnqueueWebhookDeliveries adds deliveries to the webhook outbox, due now
// unless NextAttemptAt says later.
func (tx *Tx) EnqueueWebhookDeliveries(ds ...*gatehouse.WebhookDelivery) error {
	for _, d := range ds {
		next := d.NextAttemptAt
		if next.IsZero() {
			next = tx.now
		}
		retryFrom := d.RetryFrom
		if retryFrom.IsZero() {
			retryFrom = d.CreatedAt
		}
		_, err := tx.exec(`INSERT INTO webhook_deliveries (id, endpoint_id, message_id, company_id, type, body,
			created_at, retry_from, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			d.ID, d.EndpointID, d.MessageID, d.CompanyID, d.Type, d.Body, ms(d.CreatedAt), ms(retryFrom), ms(next))
		if err != nil {
			return fmt.Errorf("enqueue webhook delivery: %w", err)
		}
	}
	return nil
}

// ClaimWebhookDeliveries leases up to n due deliveries, except those of
// the endpoints in skip (the ones this node is busy with), and counts the
// attempt. As ClaimMail: SKIP LOCKED in a MATERIALIZED CTE, so that nodes
// take different rows and one claim takes at most n.
func (tx *Tx) ClaimWebhookDeliveries(n int, leaseUntil time.Time, skip []string) ([]*gatehouse.WebhookDelivery, error) {
	now := ms(tx.now)
	args := []any{now, ms(leaseUntil), n}
	except := ""
	if len(skip) > 0 {
		except = ` AND endpoint_id NOT IN (` + placeholders(4, len(skip)) + `)`
		for _, id := range skip {
			args = append(args, id)
		}
	}
	return tx.deliveries(`WITH due AS MATERIALIZED (
			SELECT id FROM webhook_deliveries
			WHERE delivered_at = 0 AND failed_at = 0 AND next_attempt_at <= $1 AND lease_until < $1`+except+`
			ORDER BY next_attempt_at LIMIT $3`+tx.skipLocked()+`)
		UPDATE webhook_deliveries SET lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM due) AND delivered_at = 0 AND failed_at = 0 AND lease_until < $1
		RETURNING `+deliveryColumns, args...)
}

// WebhookDelivered marks deliveries done: one statement per status for a
// worker's whole group.
func (tx *Tx) WebhookDelivered(attempts ...gatehouse.WebhookAttempt) error {
	byStatus := map[int][]string{}
	var at time.Time
	for _, a := range attempts {
		byStatus[a.Status] = append(byStatus[a.Status], a.DeliveryID)
		at = a.At
	}
	for status, ids := range byStatus {
		err := tx.inBatches(ids, func(list string, args []any) error {
			_, err := tx.exec(`UPDATE webhook_deliveries SET delivered_at = $1, last_attempt_at = $2, last_status = $3,
				last_error = '', lease_until = 0 WHERE id IN (`+list+`)`, append([]any{ms(tx.now), ms(at), status}, args...)...)
			return err
		}, 3)
		if err != nil {
			return fmt.Errorf("mark webhooks delivered: %w", err)
		}
	}
	return nil
}

// WebhookRetry records a failed attempt and makes the delivery due at next.
func (tx *Tx) WebhookRetry(a gatehouse.WebhookAttempt, next time.Time) error {
	_, err := tx.exec(`UPDATE webhook_deliveries SET next_attempt_at = $2, lease_until = 0, last_attempt_at = $3,
		last_status = $4, last_error = $5 WHERE id = $1`, a.DeliveryID, ms(next), ms(a.At), a.Status, a.Error)
	return err
}

// WebhookFailed records a failed attempt and gives up on the delivery.
func (tx *Tx) WebhookFailed(a gatehouse.WebhookAttempt) error {
	_, err := tx.exec(`UPDATE webhook_deliveries SET failed_at = $2, lease_until = 0, last_attempt_at = $3,
		last_status = $4, last_error = $5 WHERE id = $1`, a.DeliveryID, ms(tx.now), ms(a.At), a.Status, a.Error)
	return err
}

// ReleaseWebhookDeliveries gives claimed deliveries back, due at once,
// without counting the attempt they were claimed for.
func (tx *Tx) ReleaseWebhookDeliveries(ids ...string) error {
	return tx.inBatches(ids, func(list string, args []any) error {
		_, err := tx.exec(`UPDATE webhook_deliveries SET lease_until = 0, attempts = attempts - 1
			WHERE id IN (`+list+`) AND lease_until <> 0 AND delivered_at = 0 AND failed_at = 0`, args...)
		return err
	})
}

// WebhookDelivery returns the delivery with the given ID.
func (tx *Tx) WebhookDelivery(id string) (*gatehouse.WebhookDelivery, error) {
	d, err := scanDelivery(tx.queryRow(`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "Delivery")
	}
	return d, nil
}

// WebhookDeliveries returns the endpoint's latest deliveries, newest first.
func (tx *Tx) WebhookDeliveries(endpointID string, limit int) ([]*gatehouse.WebhookDelivery, error) {
	return tx.deliveries(`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE endpoint_id = $1
		ORDER BY id DESC LIMIT $2`, endpointID, limit)
}

// ResendWebhookDelivery makes a delivery due now with a fresh retry
// schedule, whatever its state; one being sent keeps its lease, so that it
// is not sent twice at once.
func (tx *Tx) ResendWebhookDelivery(id string) error {
	n, err := tx.exec(`UPDATE webhook_deliveries SET delivered_at = 0, failed_at = 0, attempts = 0,
		retry_from = $2, next_attempt_at = $2 WHERE id = $1`, id, ms(tx.now))
	if err != nil {
		return fmt.Errorf("resend webhook delivery: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Delivery not found.")
	}
	return nil
}

// WebhookCounts counts waiting and failed deliveries.
func (tx *Tx) WebhookCounts() (pending, failed int, err error) {
	err = tx.queryRow(`SELECT
		coalesce(sum(CASE WHEN delivered_at = 0 AND failed_at = 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN failed_at <> 0 THEN 1 ELSE 0 END), 0) FROM webhook_deliveries`).Scan(&pending, &failed)
	return pending, failed, err
}

// OldestDueWebhook returns when the delivery due longest became due; the
// index of due deliveries answers it from its first entry.
func (tx *Tx) OldestDueWebhook() (time.Time, error) {
	var at int64
	err := tx.queryRow(`SELECT coalesce(min(next_attempt_at), 0) FROM webhook_deliveries
		WHERE delivered_at = 0 AND failed_at = 0 AND next_attempt_at <= $1`, ms(tx.now)).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("oldest due webhook: %w", err)
	}
	return fromMS(at), nil
}

// DeleteOldWebhookDeliveries deletes delivered and failed deliveries made
// before t.
func (tx *Tx) DeleteOldWebhookDeliveries(before time.Time) (int, error) {
	n, err := tx.exec(`DELETE FROM webhook_deliveries WHERE created_at < $1 AND (delivered_at <> 0 OR failed_at <> 0)`, ms(before))
	return int(n), err
}

// inBatches runs f for ids in IN lists of at most maxIDsPerStatement,
// numbered from $from+1 (after that many fixed arguments of f's own).
func (tx *Tx) inBatches(ids []string, f func(list string, args []any) error, fixed ...int) error {
	from := 1
	if len(fixed) > 0 {
		from = fixed[0] + 1
	}
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerStatement)
		args := make([]any, 0, n)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		if err := f(placeholders(from, n), args); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
