package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/webhook"
)

// Webhook endpoints: registered by a company's admins (pages and API) or
// by the operator (command line, for every company's events). Who may see
// and change which endpoint is decided here: an admin reaches only the
// endpoints of their own company, and another company's endpoint, or the
// operator's, is ENotFound like one that does not exist.

// Limits of webhook endpoints.
const (
	// MaxWebhooksPerCompany bounds a company's endpoints: each event is
	// written once per endpoint that wants it.
	MaxWebhooksPerCompany = 20
	// WebhookPreviousSecretLife is how long a rotated secret keeps signing
	// beside the new one, so that receivers can switch without losing a
	// delivery.
	WebhookPreviousSecretLife = 24 * time.Hour
	// WebhookRetryFor is how long a delivery is retried: it is given up
	// after the first failed attempt this long after it was made (or
	// resent), about 11 attempts (webhook.Backoff).
	WebhookRetryFor = 24 * time.Hour
	// WebhookDisableAfter disables an endpoint whose every attempt has
	// failed for this long, and its company's admins are told by mail.
	WebhookDisableAfter = 5 * 24 * time.Hour
	// WebhookDeliveriesShown is how many of an endpoint's latest
	// deliveries its page lists.
	WebhookDeliveriesShown = 25
	// keepWebhookDeliveries is how long delivered and failed deliveries
	// are kept for the page (and for a resend).
	keepWebhookDeliveries = 14 * 24 * time.Hour
)

// WebhooksPath is the page where admins manage their endpoints; package
// web serves it, and the mail about a disabled endpoint links to it.
const WebhooksPath = "/settings/webhooks"

// NewWebhook is an endpoint to register.
type NewWebhook struct {
	URL string
	// Events are the event types it receives; none means every type,
	// including those added later.
	Events []string
}

// CreatedWebhook is a registered endpoint and its signing secret, shown
// only now ("whsec_" and base64).
type CreatedWebhook struct {
	Endpoint *gatehouse.WebhookEndpoint
	Secret   string
}

func errWebhookNotFound() error {
	return gatehouse.Errorf(gatehouse.ENotFound, "Webhook endpoint not found.")
}

// checkNewWebhook validates the event types and the URL (webhook.Policy,
// which may look the host up: never inside a transaction).
func (s *Service) checkNewWebhook(ctx context.Context, nw NewWebhook) (NewWebhook, error) {
	var events []string
	for _, e := range nw.Events {
		if !gatehouse.IsWebhookEventType(e) {
			return nw, gatehouse.Errorf(gatehouse.EInvalidRequest, "Unknown event type %q; the types are %s.",
				e, strings.Join(gatehouse.WebhookEventTypes, ", "))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	if len(events) == len(gatehouse.WebhookEventTypes) {
		events = nil // every type is every type, later ones included
	}
	u, err := s.cfg.Webhooks.CheckURL(ctx, strings.TrimSpace(nw.URL))
	if err != nil {
		return nw, err
	}
	return NewWebhook{URL: u, Events: events}, nil
}

// createWebhook stores an endpoint with a fresh secret, sealed, and
// audits it with actor (nil for the operator).
func (s *Service) createWebhook(tx gatehouse.Tx, companyID string, actor *Actor, nw NewWebhook, c Client) (*CreatedWebhook, error) {
	key := webhook.NewSecret()
	e := &gatehouse.WebhookEndpoint{ID: gatehouse.NewID(tx.Now()), CompanyID: companyID, URL: nw.URL, Events: nw.Events,
		CreatedAt: tx.Now()}
	e.Secret = s.sealer.Seal(key, webhookAAD(e.ID))
	if err := tx.CreateWebhookEndpoint(e); err != nil {
		return nil, err
	}
	if err := s.auditWebhook(tx, gatehouse.EventWebhookCreated, e, actor, c); err != nil {
		return nil, err
	}
	return &CreatedWebhook{Endpoint: e, Secret: webhook.FormatSecret(key)}, nil
}

// auditWebhook records an admin's (or key's) or, with actor nil, the
// operator's event about endpoint e. The endpoint is named in Detail
// (TargetID is for users).
func (s *Service) auditWebhook(tx gatehouse.Tx, typ string, e *gatehouse.WebhookEndpoint, actor *Actor, c Client, detail ...string) error {
	ev := event(typ, e.CompanyID, "", "", c)
	if actor != nil {
		ev.ActorID, ev.ActorType = actor.ID, actor.actorType()
	}
	fields := append([]string{"endpoint=" + e.ID}, detail...)
	if actor == nil {
		fields = append([]string{gatehouse.DetailOperator}, fields...)
	}
	ev.Detail = strings.Join(fields, " ")
	return s.audit(tx, ev)
}

func webhookAAD(endpointID string) []byte { return []byte("webhook:" + endpointID) }

// companyWebhook loads an endpoint of the admin's company.
func companyWebhook(tx gatehouse.Tx, actor *Actor, id string) (*gatehouse.WebhookEndpoint, error) {
	if id == "" || len(id) > maxIDBytes {
		return nil, errWebhookNotFound()
	}
	e, err := tx.WebhookEndpoint(id)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound || err == nil && e.CompanyID != actor.CompanyID {
		return nil, errWebhookNotFound()
	}
	return e, err
}

// adminWebhook runs fn in a write transaction on the endpoint id of the
// caller's company, with the caller's admin rights checked again inside.
func (s *Service) adminWebhook(ctx context.Context, id *Identity, endpointID string,
	fn func(tx gatehouse.Tx, o *outcome, actor *Actor, e *gatehouse.WebhookEndpoint) error) error {
	return adminItem(s, ctx, id, func(tx gatehouse.Tx, actor *Actor) (*gatehouse.WebhookEndpoint, error) {
		return companyWebhook(tx, actor, endpointID)
	}, fn)
}

// Webhooks lists the caller's company's endpoints, oldest first.
func (s *Service) Webhooks(ctx context.Context, id *Identity) ([]*gatehouse.WebhookEndpoint, error) {
	var list []*gatehouse.WebhookEndpoint
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		list, err = tx.WebhookEndpoints(actor.CompanyID)
		return err
	})
	return list, err
}

// Webhook returns an endpoint of the caller's company with its latest
// deliveries, newest first, read from one snapshot: the worker records an
// outcome in the endpoint and the delivery in one transaction, and two
// reads with that commit between them showed a delivery delivered beside
// its endpoint still failing from the attempt before.
func (s *Service) Webhook(ctx context.Context, id *Identity, endpointID string) (*gatehouse.WebhookEndpoint, []*gatehouse.WebhookDelivery, error) {
	var e *gatehouse.WebhookEndpoint
	var ds []*gatehouse.WebhookDelivery
	err := s.adminSnapshot(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		if e, err = companyWebhook(tx, actor, endpointID); err != nil {
			return err
		}
		ds, err = tx.WebhookDeliveries(e.ID, WebhookDeliveriesShown)
		return err
	})
	return e, ds, err
}

// CreateWebhook registers an endpoint for the caller's company and returns
// it with its signing secret, which is shown only now. A URL that is not
// https, or that leads to an internal address, is refused
// (EWebhookURLInvalid, EWebhookAddressNotAllowed); a company has at most
// MaxWebhooksPerCompany endpoints.
func (s *Service) CreateWebhook(ctx context.Context, id *Identity, nw NewWebhook, c Client) (*CreatedWebhook, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	nw, err := s.checkNewWebhook(ctx, nw)
	if err != nil {
		return nil, err
	}
	var created *CreatedWebhook
	err = s.adminLocked(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		if err := webhooksPerCompany.check(tx, actor.CompanyID); err != nil {
			return err
		}
		created, err = s.createWebhook(tx, actor.CompanyID, actor, nw, c)
		return err
	})
	return created, err
}

var webhooksPerCompany = companyLimit{max: MaxWebhooksPerCompany, what: "webhook endpoints",
	count: func(tx gatehouse.Tx, companyID string) (int, error) {
		list, err := tx.WebhookEndpoints(companyID)
		return len(list), err
	}}

// DeleteWebhook deletes an endpoint of the caller's company and its
// deliveries: nothing more is sent to it.
func (s *Service) DeleteWebhook(ctx context.Context, id *Identity, endpointID string, c Client) error {
	return s.adminWebhook(ctx, id, endpointID, func(tx gatehouse.Tx, o *outcome, actor *Actor, e *gatehouse.WebhookEndpoint) error {
		return s.deleteWebhook(tx, e, actor, c)
	})
}

func (s *Service) deleteWebhook(tx gatehouse.Tx, e *gatehouse.WebhookEndpoint, actor *Actor, c Client) error {
	if _, err := tx.DeleteWebhookEndpoint(e.ID); err != nil {
		return err
	}
	return s.auditWebhook(tx, gatehouse.EventWebhookDeleted, e, actor, c)
}

// RotateWebhookSecret gives an endpoint a new signing secret, returned to
// show once. The old one keeps signing beside it for
// WebhookPreviousSecretLife (the specification's multiple signatures), so
// that the receiver can switch without losing a delivery.
func (s *Service) RotateWebhookSecret(ctx context.Context, id *Identity, endpointID string, c Client) (string, error) {
	var secret string
	err := s.adminWebhook(ctx, id, endpointID, func(tx gatehouse.Tx, o *outcome, actor *Actor, e *gatehouse.WebhookEndpoint) error {
		key := webhook.NewSecret()
		secret = webhook.FormatSecret(key)
		aad := webhookAAD(e.ID)
		if err := tx.SetWebhookSecret(e.ID, s.sealer.Seal(key, aad), e.Secret, tx.Now().Add(WebhookPreviousSecretLife)); err != nil {
			return err
		}
		return s.auditWebhook(tx, gatehouse.EventWebhookSecretRotated, e, actor, c)
	})
	return secret, err
}

// EnableWebhook lets deliveries go to a disabled endpoint again. The
// deliveries that failed meanwhile stay failed; an admin resends those
// that matter.
func (s *Service) EnableWebhook(ctx context.Context, id *Identity, endpointID string, c Client) error {
	return s.adminWebhook(ctx, id, endpointID, func(tx gatehouse.Tx, o *outcome, actor *Actor, e *gatehouse.WebhookEndpoint) error {
		if !e.Disabled() {
			return nil
		}
		if err := tx.EnableWebhookEndpoint(e.ID); err != nil {
			return err
		}
		return s.auditWebhook(tx, gatehouse.EventWebhookEnabled, e, actor, c)
	})
}

// ResendWebhookDelivery sends a delivery of an endpoint of the caller's
// company again, now, with the same webhook-id and a fresh retry schedule.
// A disabled endpoint must be enabled first (EWebhookDisabled).
func (s *Service) ResendWebhookDelivery(ctx context.Context, id *Identity, endpointID, deliveryID string, c Client) error {
	return s.adminWebhook(ctx, id, endpointID, func(tx gatehouse.Tx, o *outcome, actor *Actor, e *gatehouse.WebhookEndpoint) error {
		if deliveryID == "" || len(deliveryID) > maxIDBytes {
			return gatehouse.Errorf(gatehouse.ENotFound, "Delivery not found.")
		}
		d, err := tx.WebhookDelivery(deliveryID)
		if err != nil {
			return err
		}
		if d.EndpointID != e.ID {
			return gatehouse.Errorf(gatehouse.ENotFound, "Delivery not found.")
		}
		if e.Disabled() {
			return gatehouse.Errorf(gatehouse.EWebhookDisabled, "This endpoint is disabled. Enable it first.")
		}
		if err := tx.ResendWebhookDelivery(d.ID); err != nil {
			return err
		}
		o.webhooksQueued = true
		return s.auditWebhook(tx, gatehouse.EventWebhookDeliveryResent, e, actor, c, "delivery="+d.ID)
	})
}

// --- The operator's endpoints (gatehouse webhook ...) ---

// OperatorCreateWebhook registers an endpoint from the command line: for
// the company companyID, or, with companyID empty, for every company's
// events. The address rule holds here too.
func (s *Service) OperatorCreateWebhook(ctx context.Context, companyID string, nw NewWebhook, c Client) (*CreatedWebhook, error) {
	nw, err := s.checkNewWebhook(ctx, nw)
	if err != nil {
		return nil, err
	}
	var created *CreatedWebhook
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if companyID != "" {
			if _, err := tx.Company(companyID); err != nil {
				return err
			}
		}
		created, err = s.createWebhook(tx, companyID, nil, nw, c)
		return err
	})
	return created, err
}

// OperatorWebhooks lists the endpoints of a company, or the operator's
// own with companyID empty.
func (s *Service) OperatorWebhooks(ctx context.Context, companyID string) ([]*gatehouse.WebhookEndpoint, error) {
	var list []*gatehouse.WebhookEndpoint
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		list, err = tx.WebhookEndpoints(companyID)
		return err
	})
	return list, err
}

// OperatorDeleteWebhook deletes any endpoint.
func (s *Service) OperatorDeleteWebhook(ctx context.Context, endpointID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		e, err := tx.WebhookEndpoint(endpointID)
		if err != nil {
			return err
		}
		return s.deleteWebhook(tx, e, nil, c)
	})
}
