package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Webhook endpoints of the caller's company: thin handlers over auth's
// webhook methods (docs/WEBHOOKS.md).

// webhookJSON is an endpoint as its admins see it; the secret is never
// shown again after it is made.
type webhookJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"` // empty: every type
	CreatedAt string   `json:"created_at"`
	// State is "enabled" or "disabled"; a disabled endpoint says when and
	// why ("failing" or "gone").
	State          string  `json:"state"`
	DisabledAt     *string `json:"disabled_at"`
	DisabledReason *string `json:"disabled_reason"`
	// FailingSince is when the current run of failed attempts began, and
	// LastError the last of them; null while deliveries succeed.
	FailingSince *string `json:"failing_since"`
	LastError    *string `json:"last_error"`
	// PreviousSecretExpiresAt is set while a rotated secret still signs.
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
}

func toWebhook(e *gatehouse.WebhookEndpoint) webhookJSON {
	j := webhookJSON{ID: e.ID, URL: e.URL, Events: e.Events, CreatedAt: timeString(e.CreatedAt), State: "enabled",
		FailingSince: timePtr(e.FailingSince), LastError: stringPtr(e.LastError)}
	if j.Events == nil {
		j.Events = []string{}
	}
	if e.Disabled() {
		j.State, j.DisabledAt, j.DisabledReason = "disabled", timePtr(e.DisabledAt), stringPtr(e.DisabledReason)
	}
	if e.PreviousSecret != nil {
		j.PreviousSecretExpiresAt = timePtr(e.PreviousUntil)
	}
	return j
}

func stringPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deliveryJSON is one delivery of an endpoint.
type deliveryJSON struct {
	ID            string  `json:"id"`
	MessageID     string  `json:"message_id"` // the webhook-id header
	Type          string  `json:"type"`
	CreatedAt     string  `json:"created_at"`
	State         string  `json:"state"` // pending, delivered or failed
	Attempts      int     `json:"attempts"`
	LastAttemptAt *string `json:"last_attempt_at"`
	LastStatus    *int    `json:"last_status"`
	LastError     *string `json:"last_error"`
	NextAttemptAt *string `json:"next_attempt_at"` // pending deliveries only
	DeliveredAt   *string `json:"delivered_at"`
}

func toDelivery(d *gatehouse.WebhookDelivery) deliveryJSON {
	j := deliveryJSON{ID: d.ID, MessageID: d.MessageID, Type: d.Type, CreatedAt: timeString(d.CreatedAt), State: d.State(),
		Attempts: d.Attempts, LastAttemptAt: timePtr(d.LastAttemptAt), LastError: stringPtr(d.LastError),
		DeliveredAt: timePtr(d.DeliveredAt)}
	if d.LastStatus != 0 {
		j.LastStatus = &d.LastStatus
	}
	if j.State == gatehouse.DeliveryPending {
		j.NextAttemptAt = timePtr(d.NextAttemptAt)
	}
	return j
}

func (d deps) handleListWebhooks() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r); err != nil {
			return err
		}
		list, err := d.svc.Webhooks(r.Context(), id)
		if err != nil {
			return err
		}
		out := struct {
			Webhooks []webhookJSON `json:"webhooks"`
		}{Webhooks: []webhookJSON{}}
		for _, e := range list {
			out.Webhooks = append(out.Webhooks, toWebhook(e))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

type webhookRequest struct {
	URL    string   `json:"url" api:"required"`
	Events []string `json:"events"`
}

func (d deps) handleCreateWebhook() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req webhookRequest) error {
		created, err := d.svc.CreateWebhook(r.Context(), id, auth.NewWebhook{URL: req.URL, Events: req.Events}, client(r))
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/company/webhooks/"+created.Endpoint.ID)
		writeJSON(w, http.StatusCreated, struct {
			webhookJSON
			Secret string `json:"secret"`
		}{toWebhook(created.Endpoint), created.Secret})
		return nil
	})
}

func (d deps) handleGetWebhook() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r); err != nil {
			return err
		}
		e, ds, err := d.svc.Webhook(r.Context(), id, r.PathValue("id"))
		if err != nil {
			return err
		}
		out := struct {
			webhookJSON
			Deliveries []deliveryJSON `json:"deliveries"`
		}{webhookJSON: toWebhook(e), Deliveries: []deliveryJSON{}}
		for _, dl := range ds {
			out.Deliveries = append(out.Deliveries, toDelivery(dl))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func (d deps) handleDeleteWebhook() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.DeleteWebhook(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (d deps) handleRotateWebhookSecret() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		secret, err := d.svc.RotateWebhookSecret(r.Context(), id, r.PathValue("id"), client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			Secret string `json:"secret"`
		}{secret})
		return nil
	})
}

func (d deps) handleEnableWebhook() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.EnableWebhook(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		e, _, err := d.svc.Webhook(r.Context(), id, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toWebhook(e))
		return nil
	})
}

func (d deps) handleResendDelivery() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		err := d.svc.ResendWebhookDelivery(r.Context(), id, r.PathValue("id"), r.PathValue("delivery_id"), client(r))
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}
