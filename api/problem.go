package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/password"
)

// problem is an RFC 9457 problem document with the contract's extra member
// `code`.
type problem struct {
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Status      int      `json:"status"`
	Code        string   `json:"code"`
	Reasons     []string `json:"reasons,omitempty"`
	ReasonCodes []string `json:"reason_codes,omitempty"`
	RequestID   string   `json:"request_id,omitempty"`
}

// writeError answers with err as a problem. Errors that are not a
// *gatehouse.Error are internal: the client learns nothing but the request
// ID, the log gets the whole chain.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := gatehouse.ErrorCode(err)
	gone := httpx.ClientGone(r, err)
	if code == gatehouse.EInternal && gone {
		// Nobody will read the answer; 503 keeps it out of the 500s.
		log.Debug("request ended by the client", "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "err", err)
		err = gatehouse.Errorf(gatehouse.EUnavailable, "The request ended before it was answered.")
		code = gatehouse.EUnavailable
	}
	p := problem{Type: "about:blank", Title: gatehouse.ErrorMessage(err), Status: httpx.Status(code), Code: code}
	if e := gatehouse.AsError(err); e != nil {
		for _, reason := range e.Reasons {
			p.Reasons = append(p.Reasons, reason.Message)
			p.ReasonCodes = append(p.ReasonCodes, reason.Code)
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
	}
	switch code {
	case gatehouse.EInternal:
		p.RequestID = httpx.RequestID(r.Context())
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "request_id", p.RequestID, "err", err)
	case gatehouse.EUnavailable:
		// The database is away or the hashing queue is full: the chain says
		// which, the client only learns to retry. A full queue is logged
		// as a summary (server.App), not once per refusal.
		if gone || errors.Is(err, password.ErrBusy) {
			log.Debug("unavailable", "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "err", err)
			break
		}
		log.Warn("unavailable", "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// Header values every answer shares; never modified (Header.Set and Add
// replace or copy the slice).
var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// writeJSON answers with v as JSON. Every answer of this API is about one
// person's security state, so none may be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// No browser renders these answers, so '&' and '<' stay as they are:
	// an otpauth URI then reads the same in the body as in the QR code.
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
