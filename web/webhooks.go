package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Webhook endpoints of the admin's company (docs/WEBHOOKS.md): the list
// with a form to add one, and a page per endpoint with its deliveries.
// Each calls the same auth method as its JSON endpoint. A secret is shown
// on the answer that made it, and never again.

// webhooksData is the list page.
type webhooksData struct {
	Endpoints []*gatehouse.WebhookEndpoint
	Types     []string // every event type, for the form
	Max       int
	// Created is the endpoint just made, with its secret to show once.
	Created *auth.CreatedWebhook
	// Chosen are the form's event types after an error.
	Chosen map[string]bool
}

func (d deps) webhooksPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, data webhooksData, err error) {
	p := d.pageFor(w, r, "title.webhooks", id)
	p.Nav = "webhooks"
	if err != nil {
		p.setError(err)
		p.Form["url"] = r.PostFormValue("url")
	}
	list, lerr := d.svc.Webhooks(r.Context(), id)
	if lerr != nil {
		d.fail(w, r, lerr)
		return
	}
	data.Endpoints, data.Types, data.Max = list, gatehouse.WebhookEventTypes, auth.MaxWebhooksPerCompany
	p.Data = data
	d.rd.render(w, r, "settings_webhooks", p)
}

func (d deps) handleWebhooksPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.webhooksPage(w, r, id, webhooksData{}, nil)
}

// handleCreateWebhook registers an endpoint and answers with the list
// page showing its secret: a redirect would lose it.
func (d deps) handleCreateWebhook(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	events := r.PostForm["events"]
	created, err := d.svc.CreateWebhook(r.Context(), id, auth.NewWebhook{URL: r.PostFormValue("url"), Events: events}, d.client(r))
	if err != nil {
		chosen := map[string]bool{}
		for _, e := range events {
			chosen[e] = true
		}
		d.webhooksPage(w, r, id, webhooksData{Chosen: chosen}, err)
		return
	}
	d.webhooksPage(w, r, id, webhooksData{Created: created}, nil)
}

// webhookData is the page of one endpoint.
type webhookData struct {
	Endpoint   *gatehouse.WebhookEndpoint
	Deliveries []*gatehouse.WebhookDelivery
	Shown      int
	// Secret is a secret just made by a rotation, to show once.
	Secret string
}

func (d deps) webhookPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, secret string, err error) {
	e, ds, verr := d.svc.Webhook(r.Context(), id, r.PathValue("id"))
	if verr != nil {
		d.fail(w, r, verr)
		return
	}
	p := d.pageFor(w, r, "title.webhook", id)
	p.Nav = "webhooks"
	if err != nil {
		p.setError(err)
	}
	p.Data = webhookData{Endpoint: e, Deliveries: ds, Shown: auth.WebhookDeliveriesShown, Secret: secret}
	d.rd.render(w, r, "settings_webhook", p)
}

func (d deps) handleWebhookPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.webhookPage(w, r, id, "", nil)
}

// webhookAction runs an action from a form on the endpoint's page and
// comes back to it with a toast; a refusal shows the page with the error.
func (d deps) webhookAction(flash string, act func(r *http.Request, id *auth.Identity) error) http.Handler {
	return d.adminForm(func(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
		if err := act(r, id); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound && r.PathValue("delivery_id") == "" {
				d.fail(w, r, err)
				return
			}
			d.webhookPage(w, r, id, "", err)
			return
		}
		d.setFlash(w, flash)
		http.Redirect(w, r, auth.WebhooksPath+"/"+r.PathValue("id"), http.StatusSeeOther)
	})
}

func (d deps) handleRotateWebhook(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	secret, err := d.svc.RotateWebhookSecret(r.Context(), id, r.PathValue("id"), d.client(r))
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		d.fail(w, r, err)
		return
	}
	d.webhookPage(w, r, id, secret, err)
}

func (d deps) handleEnableWebhook() http.Handler {
	return d.webhookAction("flash.webhook_enabled", func(r *http.Request, id *auth.Identity) error {
		return d.svc.EnableWebhook(r.Context(), id, r.PathValue("id"), d.client(r))
	})
}

func (d deps) handleResendDelivery() http.Handler {
	return d.webhookAction("flash.webhook_resent", func(r *http.Request, id *auth.Identity) error {
		return d.svc.ResendWebhookDelivery(r.Context(), id, r.PathValue("id"), r.PathValue("delivery_id"), d.client(r))
	})
}

var confirmDeleteWebhook = &confirmation{"webhook.delete_confirm", "webhook.delete_confirm_text", "webhook.delete"}

// handleDeleteWebhook deletes after a confirmation (deleteConfirmed).
func (d deps) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	endpointID := r.PathValue("id")
	d.deleteConfirmed(w, r, id, "webhooks", func() (question, error) {
		e, _, err := d.svc.Webhook(r.Context(), id, endpointID)
		if err != nil {
			return question{}, err
		}
		return question{confirmation: confirmDeleteWebhook, args: []any{"url", e.URL}, back: auth.WebhooksPath + "/" + e.ID,
			backKey: "webhooks.heading"}, nil
	}, func() error {
		return d.svc.DeleteWebhook(r.Context(), id, endpointID, d.client(r))
	}, "flash.webhook_deleted", auth.WebhooksPath)
}
