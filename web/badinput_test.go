package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// formPages are the pages that take a POSTed form, with a valid-looking form.
var formPages = []struct {
	path   string
	fields map[string]string
}{
	{"/login", map[string]string{"email": "ada@example.com", "password": goodPW}},
	{"/login/2fa", map[string]string{"code": "123456"}},
	{"/login/change-password", map[string]string{"new_password": otherPW, "confirm_password": otherPW}},
	{"/login/setup-2fa/start", map[string]string{}},
	{"/login/setup-2fa", map[string]string{"code": "123456"}},
	{"/forgot-password", map[string]string{"email": "ada@example.com"}},
	{"/reset-password", map[string]string{"token": strings.Repeat("a", 43), "new_password": otherPW, "confirm_password": otherPW}},
	{"/setup", map[string]string{"token": strings.Repeat("a", 43), "company_name": "Evil", "name": "Eve", "email": "eve@example.com",
		"new_password": otherPW, "confirm_password": otherPW}},
	{"/settings/password", map[string]string{"current_password": goodPW, "new_password": otherPW, "confirm_password": otherPW}},
	{"/settings/sessions/x/revoke", map[string]string{}},
}

// encoded is a form with every value given, urlencoded.
func encoded(fields map[string]string) string {
	v := url.Values{}
	for k, f := range fields {
		v.Set(k, f)
	}
	return v.Encode()
}

// withNUL puts a NUL byte into every value, or adds a field holding one.
func withNUL(fields map[string]string) map[string]string {
	out := map[string]string{"extra": "a\x00b"}
	for k, v := range fields {
		out[k] = v + "\x00"
	}
	return out
}

func multipartBody(fields map[string]string) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func TestFormsRefuseBadInput(t *testing.T) {
	s := startAcme(t)
	browser := s.Client(t)
	loginForm(t, browser, "ada@example.com", goodPW)
	cookie := browser.SessionCookie()
	before := s.Snapshot(t)
	for _, p := range formPages {
		mpType, mpNUL := multipartBody(withNUL(p.fields))
		cases := []struct {
			name, contentType string
			body              []byte
			status            int
		}{
			{"NUL", "application/x-www-form-urlencoded", []byte(encoded(withNUL(p.fields))), 400},
			{"NUL in multipart", mpType, mpNUL, 400},
			{"oversize", "application/x-www-form-urlencoded", []byte(encoded(p.fields) + "&pad=" + strings.Repeat("a", 100<<10)), 413},
			{"JSON", "application/json", []byte(`{"email":"ada@example.com"}`), 415},
			{"text/plain", "text/plain", []byte(encoded(p.fields)), 415},
			{"no content type", "", []byte(encoded(p.fields)), 415},
			{"broken encoding", "application/x-www-form-urlencoded", []byte("email=%zz&password=%"), 400},
		}
		for _, c := range cases {
			t.Run(p.path+"/"+c.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", s.URL+p.path, bytes.NewReader(c.body))
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				req.Header.Set("Origin", s.URL)
				req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: cookie})
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("got %d %s, want %d with a page\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), c.status, body)
				}
			})
		}
	}
	if after := s.Snapshot(t); after != before {
		t.Errorf("bad forms changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	wantPage(t, "still signed in", browser.Get("/settings/profile"), 200, "ada@example.com")
}
