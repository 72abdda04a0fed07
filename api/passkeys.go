package api

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// A passkey ceremony is two calls: "begin" answers the options to pass to
// navigator.credentials.create or .get, and the second call takes the
// PublicKeyCredential the browser returned (its toJSON()) as "credential".

type passkeyOptionsJSON struct {
	Options json.RawMessage `json:"options"`
}

type passkeyJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	CreatedAt      string   `json:"created_at"`
	LastUsedAt     *string  `json:"last_used_at"`
	BackupEligible bool     `json:"backup_eligible"`
	BackupState    bool     `json:"backup_state"`
	Transports     []string `json:"transports"`
	AAGUID         string   `json:"aaguid"`
}

func toPasskey(k *gatehouse.Passkey) passkeyJSON {
	out := passkeyJSON{ID: k.ID, Name: k.Name, CreatedAt: timeString(k.CreatedAt), BackupEligible: k.BackupEligible,
		BackupState: k.BackupState, Transports: k.Transports, AAGUID: aaguidString(k.AAGUID)}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if !k.LastUsedAt.IsZero() {
		s := timeString(k.LastUsedAt)
		out.LastUsedAt = &s
	}
	return out
}

// aaguidString writes an AAGUID as a UUID; "" when the authenticator did
// not say.
func aaguidString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

func writeOptions(w http.ResponseWriter, opts auth.PasskeyOptions, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passkeyOptionsJSON{Options: json.RawMessage(opts)})
	return nil
}

func (d deps) handleListPasskeys() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		keys, err := d.svc.Passkeys(r.Context(), id)
		if err != nil {
			return err
		}
		out := struct {
			Passkeys []passkeyJSON `json:"passkeys"`
		}{Passkeys: []passkeyJSON{}}
		for _, k := range keys {
			out.Passkeys = append(out.Passkeys, toPasskey(k))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func (d deps) handleBeginPasskeyRegistration() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req passwordRequest) error {
		opts, err := d.svc.BeginPasskeyRegistration(r.Context(), id, req.Password, client(r))
		return writeOptions(w, opts, err)
	})
}

type addPasskeyRequest struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func (d deps) handleAddPasskey() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req addPasskeyRequest) error {
		key, err := d.svc.FinishPasskeyRegistration(r.Context(), id, req.Name, req.Credential, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toPasskey(key))
		return nil
	})
}

type renamePasskeyRequest struct {
	// Not required by the decoder: another's passkey is not found
	// whatever the body (auth.RenamePasskey checks the name after).
	Name string `json:"name"`
}

func (d deps) handleRenamePasskey() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req renamePasskeyRequest) error {
		if err := d.svc.RenamePasskey(r.Context(), id, r.PathValue("id"), req.Name, client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (d deps) handleBeginPasskeyReauth() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		opts, err := d.svc.BeginPasskeyReauth(r.Context(), id, client(r))
		return writeOptions(w, opts, err)
	})
}

type removePasskeyRequest struct {
	Password string          `json:"password"`
	Passkey  json.RawMessage `json:"passkey"`
}

func (d deps) handleRemovePasskey() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req removePasskeyRequest) error {
		re := auth.Reauth{Password: req.Password, Passkey: req.Passkey}
		if string(re.Passkey) == "null" {
			re.Passkey = nil
		}
		if err := d.svc.RemovePasskey(r.Context(), id, r.PathValue("id"), re, client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type beginPasskeyLoginRequest struct {
	// Conditional asks for the browser's autofill (mediation
	// "conditional") instead of a dialog.
	Conditional bool `json:"conditional"`
}

func (d deps) handleBeginPasskeyLogin() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req beginPasskeyLoginRequest) error {
		opts, err := d.svc.BeginPasskeyLogin(r.Context(), req.Conditional, client(r))
		return writeOptions(w, opts, err)
	})
}

type passkeyLoginRequest struct {
	Credential json.RawMessage `json:"credential"`
}

func (d deps) handlePasskeyLogin() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req passkeyLoginRequest) error {
		res, err := d.svc.FinishPasskeyLogin(r.Context(), req.Credential, client(r))
		return d.writeLogin(w, res, err)
	})
}

func (d deps) handleBeginPasskeySecondFactor() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req challengeRequest) error {
		opts, err := d.svc.BeginPasskeySecondFactor(r.Context(), req.Challenge, client(r))
		return writeOptions(w, opts, err)
	})
}

type passkeySecondFactorRequest struct {
	Challenge  string          `json:"challenge" api:"required"`
	Credential json.RawMessage `json:"credential"`
}

func (d deps) handlePasskeySecondFactor() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req passkeySecondFactorRequest) error {
		res, err := d.svc.FinishPasskeySecondFactor(r.Context(), req.Challenge, req.Credential, client(r))
		return d.writeLogin(w, res, err)
	})
}

// handleRemoveUserPasskeys is an admin removing every passkey of a user
// who lost the devices that hold them.
func (d deps) handleRemoveUserPasskeys() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.RemoveUserPasskeys(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
