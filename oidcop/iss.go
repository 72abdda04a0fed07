package oidcop

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/seal"
)

// issWriter adds iss (RFC 9207) to every authorization response: a
// redirect to the client, whether it carries a code or an error. Redirects
// within Gatehouse (to its login and consent pages) are relative and keep
// their query as it is.
type issWriter struct {
	http.ResponseWriter
	issuer string
}

func withIss(w http.ResponseWriter, issuer string) http.ResponseWriter {
	if _, ok := w.(*issWriter); ok {
		return w
	}
	return &issWriter{ResponseWriter: w, issuer: issuer}
}

func (w *issWriter) WriteHeader(code int) {
	if code == http.StatusFound || code == http.StatusSeeOther {
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") {
			if u, err := url.Parse(loc); err == nil && u.IsAbs() {
				q := u.Query()
				if q.Has("code") || q.Has("error") {
					q.Set("iss", w.issuer)
					u.RawQuery = q.Encode()
					w.Header().Set("Location", u.String())
				} else if f, err := url.ParseQuery(u.Fragment); err == nil && (f.Has("code") || f.Has("error")) {
					// An error for a response type answered in the fragment.
					f.Set("iss", w.issuer)
					u.Fragment = f.Encode()
					w.Header().Set("Location", u.String())
				}
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *issWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sealCrypto makes op's access tokens: the token's ID and subject sealed
// under the installation's key (package seal), so that any node opens
// what any node made, and nobody can make one.
type sealCrypto struct{ s *seal.Sealer }

var accessAAD = []byte("oidc-access")

func (c sealCrypto) Encrypt(s string) (string, error) {
	return base64.RawURLEncoding.EncodeToString(c.s.Seal([]byte(s), accessAAD)), nil
}

func (c sealCrypto) Decrypt(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	plain, err := c.s.Open(b, accessAAD)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}
