package totp

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	got := URI("Gatehouse", "ada@example.com", secret)
	want := "otpauth://totp/Gatehouse:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestURIRoundTrip(t *testing.T) {
	secret := NewSecret()
	tests := []struct{ issuer, account string }{
		{"Gatehouse", "ada@example.com"},
		{"Acme, Inc.", "Ada Lovelace <ada@example.com>"},
		{"A:B", "x:y"},
		{"Q?&#/=", "a/b#c?d&e=f;g"},
		{"100% + more", "plus+sign@example.com"},
		{"Zürich AG", "用户@例子.中国"},
		{"", "no-issuer@example.com"},
		{"Empty account", ""},
	}
	for _, tc := range tests {
		uri := URI(tc.issuer, tc.account, secret)
		issuer, account, gotSecret, err := parseURI(uri)
		if err != nil {
			t.Errorf("URI(%q, %q) = %s: %v", tc.issuer, tc.account, uri, err)
			continue
		}
		if issuer != tc.issuer || account != tc.account || gotSecret != EncodeSecret(secret) {
			t.Errorf("URI(%q, %q) = %s: parsed back (%q, %q, %s)", tc.issuer, tc.account, uri, issuer, account, gotSecret)
		}
	}
}

func FuzzURI(f *testing.F) {
	f.Add("Gatehouse", "ada@example.com")
	f.Add("A:B", "x:y?z&w#v/u")
	f.Add("Zürich AG", "用户 @例子.中国")
	f.Add("", "")
	f.Add("\xff\x00", "%zz+")
	f.Fuzz(func(t *testing.T, issuer, account string) {
		secret := []byte("12345678901234567890")
		uri := URI(issuer, account, secret)
		for i := 0; i < len(uri); i++ {
			if uri[i] <= ' ' || uri[i] >= 0x7f {
				t.Fatalf("URI(%q, %q) = %q: byte %#x is not printable ASCII", issuer, account, uri, uri[i])
			}
		}
		gotIssuer, gotAccount, gotSecret, err := parseURI(uri)
		if err != nil {
			t.Fatalf("URI(%q, %q) = %s: %v", issuer, account, uri, err)
		}
		if gotIssuer != issuer || gotAccount != account || gotSecret != EncodeSecret(secret) {
			t.Fatalf("URI(%q, %q) = %s: parsed back (%q, %q, %s)", issuer, account, uri, gotIssuer, gotAccount, gotSecret)
		}
	})
}

// parseURI reads an otpauth URI the way a strict authenticator app does:
// url.Parse, the label split at its literal ':', the parameters checked.
func parseURI(uri string) (issuer, account, secret string, err error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", "", err
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		return "", "", "", fmt.Errorf("scheme %q host %q, want otpauth and totp", u.Scheme, u.Host)
	}
	label := strings.TrimPrefix(u.EscapedPath(), "/")
	if rawIssuer, rawAccount, found := strings.Cut(label, ":"); found {
		if issuer, err = url.PathUnescape(rawIssuer); err != nil {
			return "", "", "", err
		}
		label = rawAccount
	}
	if account, err = url.PathUnescape(label); err != nil {
		return "", "", "", err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", "", "", err
	}
	if q.Get("issuer") != issuer {
		return "", "", "", fmt.Errorf("issuer parameter %q, label issuer %q", q.Get("issuer"), issuer)
	}
	for k, want := range map[string]string{"algorithm": "SHA1", "digits": "6", "period": "30"} {
		if got := q.Get(k); got != want {
			return "", "", "", fmt.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	return issuer, account, q.Get("secret"), nil
}
