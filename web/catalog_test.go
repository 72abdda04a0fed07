package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
)

// The catalogue keys the pages use: written in templates as {{.T "key"}}
// or {{$.T "key" ...}}, in Go as string literals ("flash.password_reset",
// "title.profile"), or built from a family prefix and a code
// ({{.T (printf "event.%s" .Type)}}).
var (
	templateKey = regexp.MustCompile(`\.T\s+"([^"]+)"`)
	goLiteral   = regexp.MustCompile(`"([a-z0-9_]+\.[a-z0-9_.]+)"`)
)

// keyFamilies are the keys built at run time, with every code they take.
func keyFamilies() map[string][]string {
	return map[string][]string{
		"event.":  gatehouse.EventTypes,
		"error.":  httpx.Codes(),
		"reason.": append(password.ReasonCodes(), gatehouse.ReasonPasskeyNotRegistered),
		"role.":   {string(gatehouse.RoleAdmin), string(gatehouse.RoleMember)},
		"status.": {string(gatehouse.StatusActive), string(gatehouse.StatusInvited), string(gatehouse.StatusDisabled)},
		"lang.":   i18n.Supported,
		// The messages that carry a link, and why one was given up.
		"mail_problem.": append([]string{mail.MessageInvitation, mail.MessagePasswordReset}, prefixed("reason.", gatehouse.MailReasons)...),
		// The webhook pages: event types, delivery states, why an endpoint was disabled.
		"webhook_event.":    gatehouse.WebhookEventTypes,
		"delivery_state.":   {gatehouse.DeliveryPending, gatehouse.DeliveryDelivered, gatehouse.DeliveryFailed},
		"webhook_disabled.": {gatehouse.WebhookDisabledFailing, gatehouse.WebhookDisabledGone},
		// The OpenID Connect scopes, on the consent page and the connected apps.
		"consent.":   prefixed("scope.", gatehouse.OIDCScopes),
		"connected.": prefixed("scope.", gatehouse.OIDCScopes),
	}
}

func prefixed(prefix string, codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = prefix + c
	}
	return out
}

// usedKeys returns the keys written in the templates and the Go code of
// the package, each with where it was seen.
func usedKeys(t *testing.T, groups map[string]bool) map[string]string {
	t.Helper()
	used := map[string]string{}
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goLiteral.FindAllStringSubmatch(string(b), -1) {
			if groups[strings.SplitN(m[1], ".", 2)[0]] {
				used[m[1]] = f
			}
		}
	}
	return used
}

// TestPagesUseOnlyKnownKeys fails when a template or handler uses a key
// that en.json lacks (the page would show the key itself), when a key
// family lacks a code (an audit event, error or password rule shown in
// English or as a code), and when en.json holds a key nothing uses.
func TestPagesUseOnlyKnownKeys(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]bool{}
	for _, k := range cat.Keys(i18n.Default) {
		groups[strings.SplitN(k, ".", 2)[0]] = true
	}
	used := usedKeys(t, groups)
	if len(used) < 100 {
		t.Fatalf("found %d keys in use, want hundreds: is the scan broken?", len(used))
	}
	for key, where := range used {
		if !cat.Has(i18n.Default, key) {
			t.Errorf("%s uses %q, which en.json lacks", where, key)
		}
	}
	for key := range flashKeys {
		if !cat.Has(i18n.Default, key) {
			t.Errorf("flash %q is not in en.json", key)
		}
	}
	families := keyFamilies()
	for prefix, codes := range families {
		for _, code := range codes {
			if !cat.Has(i18n.Default, prefix+code) {
				t.Errorf("en.json lacks %q", prefix+code)
			}
		}
	}
	for _, key := range cat.Keys(i18n.Default) {
		if _, ok := used[key]; ok {
			continue
		}
		prefix, code, _ := strings.Cut(key, ".")
		if slices.Contains(families[prefix+"."], code) {
			continue
		}
		t.Errorf("en.json: nothing uses %q; remove it from every catalogue", key)
	}
}
