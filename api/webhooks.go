package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// webhookRoutes: webhooks (civiq/webhook.go), Standard Webhooks 1.0.
// Admins manage any, managers those of their halls; the engine decides.
func (s *Server) webhookRoutes() {
	s.handle("POST /api/v1/webhooks", signed, s.createWebhook)
	s.handle("GET /api/v1/webhooks", signed, s.listWebhooks)
	s.handle("GET /api/v1/webhooks/{id}", signed, withID("webhook", "webhook", func(r *http.Request, c *call, id int64) (*civiq.WebhookView, error) {
		return s.Engine.Webhook(r.Context(), c.p, id)
	}))
	s.handle("PUT /api/v1/webhooks/{id}", signed, withID("webhook", "webhook", func(r *http.Request, c *call, id int64) (*civiq.WebhookView, error) {
		var in civiq.WebhookInput // what is left out stays
		if err := decode(c.body, &in); err != nil {
			return nil, err
		}
		return s.Engine.UpdateWebhook(r.Context(), c.p, id, in)
	}))
	s.handle("DELETE /api/v1/webhooks/{id}", signed, s.deleteWebhook)
	s.handle("POST /api/v1/webhooks/{id}/rotate-secret", signed, withID("webhook", "webhook", func(r *http.Request, c *call, id int64) (*civiq.WebhookView, error) {
		return s.Engine.RotateWebhookSecret(r.Context(), c.p, id)
	}))
	s.handle("GET /api/v1/webhooks/{id}/deliveries", signed, withID("webhook", "deliveries", func(r *http.Request, c *call, id int64) ([]civiq.DeliveryAttempt, error) {
		return s.Engine.WebhookDeliveries(r.Context(), c.p, id, 200)
	}))
	s.handle("POST /api/v1/webhooks/{id}/replay", signed, withID("webhook", "webhook", func(r *http.Request, c *call, id int64) (*civiq.WebhookView, error) {
		var req struct {
			FromEventID int64 `json:"from_event_id"`
		}
		if err := decode(c.body, &req, "from_event_id"); err != nil {
			return nil, err
		}
		return s.Engine.ReplayWebhook(r.Context(), c.p, id, req.FromEventID)
	}))
	s.handle("POST /api/v1/webhooks/{id}/skip", signed, withID("webhook", "skipped_event_id", func(r *http.Request, c *call, id int64) (int64, error) {
		return s.Engine.SkipWebhookMessage(r.Context(), c.p, id)
	}))
	s.handle("POST /api/v1/webhooks/{id}/test", signed, withID("webhook", "delivery", func(r *http.Request, c *call, id int64) (*civiq.DeliveryAttempt, error) {
		return s.Engine.TestWebhook(r.Context(), c.p, id)
	}))
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	var in civiq.WebhookInput
	if err := decode(c.body, &in, "url", "events"); err != nil {
		return err
	}
	v, err := s.Engine.CreateWebhook(r.Context(), c.p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": v})
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, c *call) error {
	vs, err := s.Engine.Webhooks(r.Context(), c.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": vs})
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "webhook")
	if err != nil {
		return err
	}
	if err := s.Engine.DeleteWebhook(r.Context(), c.p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
