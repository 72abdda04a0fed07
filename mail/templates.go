package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates
var templateFiles embed.FS

// DefaultLang is the language of messages whose recipient's language has no
// templates.
const DefaultLang = "en"

// Data is what a message says. Callers fill in what the message needs (see
// messages below; Render refuses a message that lacks a field it needs) and
// never pre-format: templates say times and durations in the message's
// language.
type Data struct {
	Product string // the product's name; "Gatehouse" when empty

	Name, Email string // the recipient; Name may be empty
	Company     string // the recipient's company

	// Link is the reset or invitation link, absolute http(s), built from
	// --public-url only, never from a request's Host header.
	Link      string
	ExpiresIn time.Duration // how long Link works

	// Actor is who did it, such as an admin's name. In a message about an
	// action on the recipient's account, empty means the server operator (the
	// command line), whom the templates name in the message's language.
	Actor  string
	Action Action // which of a message's cases happened

	OldEmail, NewEmail string // email_changed

	// TargetName and TargetEmail are the account a message to someone else is
	// about: break_glass_used goes to a company's other admins.
	TargetName, TargetEmail string

	// IP and UserAgent are those of the request that caused the message, when
	// the recipient should see them (their own sign-ins and changes).
	IP, UserAgent string
	At            time.Time // when it happened; shown in UTC

	// Endpoint is the URL of a webhook endpoint, Reason the last error of
	// its deliveries and Since when they began to fail (webhook_disabled).
	Endpoint, Reason string
	Since            time.Time

	// Passkey is the name of the passkey added or removed.
	Passkey string
}

// Action tells apart the cases of password_reset_by_admin and break_glass_used.
type Action string

const (
	ActionResetLink         Action = "reset_link"         // a reset link was mailed to the user
	ActionTemporaryPassword Action = "temporary_password" // a temporary password was set
	ActionTOTPRemoved       Action = "totp_removed"       // two-factor authentication was removed
)

// The cases of webhook_disabled.
const (
	ActionWebhookFailing Action = "failing" // every delivery failed for days
	ActionWebhookGone    Action = "gone"    // the receiver answered 410 Gone
)

// Message is a rendered message, ready for Compose.
type Message struct {
	To, Subject, Text, HTML string
}

// The messages the service sends, by name: a message's templates are
// templates/<lang>/<name>.txt and .html, and its name is the template label
// of the mail metrics.
const (
	MessagePasswordReset            = "password_reset"
	MessageInvitation               = "invitation"
	MessagePasswordChanged          = "password_changed"
	MessagePasswordResetByAdmin     = "password_reset_by_admin"
	MessageEmailChanged             = "email_changed"
	MessageTOTPEnabled              = "totp_enabled"
	MessageTOTPDisabled             = "totp_disabled"
	MessageTOTPRemovedByAdmin       = "totp_removed_by_admin"
	MessageRecoveryCodeUsed         = "recovery_code_used"
	MessageRecoveryCodesRegenerated = "recovery_codes_regenerated"
	MessageAccountDisabled          = "account_disabled"
	MessageBreakGlassUsed           = "break_glass_used"
	// MessageMailTest is what `gatehouse mail test` sends.
	MessageMailTest        = "mail_test"
	MessageWebhookDisabled = "webhook_disabled"

	MessagePasskeyAdded           = "passkey_added"
	MessagePasskeyRemoved         = "passkey_removed"
	MessagePasskeysRemovedByAdmin = "passkeys_removed_by_admin"
)

// message says what one message needs from Data.
type message struct {
	needs   []string // Data fields that must not be empty
	actions []Action // the Actions it understands; none means Action is ignored
	toOld   bool     // goes to OldEmail rather than Email
}

// messages is every message the service can send. Adding one here makes
// LoadTemplates require its templates in every language.
var messages = map[string]message{
	MessagePasswordReset:            {needs: []string{"Email", "Link", "ExpiresIn", "At"}},
	MessageInvitation:               {needs: []string{"Email", "Company", "Link", "ExpiresIn"}},
	MessagePasswordChanged:          {needs: []string{"Email", "At"}},
	MessagePasswordResetByAdmin:     {needs: []string{"Email", "At"}, actions: []Action{ActionResetLink, ActionTemporaryPassword}},
	MessageEmailChanged:             {needs: []string{"OldEmail", "NewEmail", "At"}, toOld: true},
	MessageTOTPEnabled:              {needs: []string{"Email", "At"}},
	MessageTOTPDisabled:             {needs: []string{"Email", "At"}},
	MessageTOTPRemovedByAdmin:       {needs: []string{"Email", "At"}},
	MessageRecoveryCodeUsed:         {needs: []string{"Email", "At"}},
	MessageRecoveryCodesRegenerated: {needs: []string{"Email", "At"}},
	MessageAccountDisabled:          {needs: []string{"Email", "At"}},
	MessageBreakGlassUsed: {needs: []string{"Email", "Company", "TargetEmail", "At"},
		actions: []Action{ActionResetLink, ActionTemporaryPassword, ActionTOTPRemoved}},
	MessageMailTest: {needs: []string{"Email", "At"}},
	MessageWebhookDisabled: {needs: []string{"Email", "Company", "Endpoint", "Link", "Since", "At"},
		actions: []Action{ActionWebhookFailing, ActionWebhookGone}},
	MessagePasskeyAdded:           {needs: []string{"Email", "Passkey", "At"}},
	MessagePasskeyRemoved:         {needs: []string{"Email", "Passkey", "At"}},
	MessagePasskeysRemovedByAdmin: {needs: []string{"Email", "At"}},
}

// Templates holds every message in every language: each language's are
// checked when loaded and parsed again on its first message, so that an
// idle server does not hold them (1.2 MB of heap for three languages;
// docs/BENCHMARKS.md, Idle memory).
type Templates struct {
	langs map[string]func() (*langTemplates, error)
}

type langTemplates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// htmlView is what HTML templates see: the data and the rendered subject,
// which becomes the page title.
type htmlView struct {
	Data
	Subject string
}

// LoadTemplates parses the embedded templates: for every language folder
// under templates/, a layout.txt and layout.html with the shared parts, and a
// .txt and .html file for every message. The first line of a .txt file is
// "Subject: ...". A missing, unknown or broken file is an error, so that a
// bad template stops the boot rather than a mail. A language's templates
// are parsed again, once, when its first message is rendered.
func LoadTemplates() (*Templates, error) {
	return loadEmbedded()
}

// loadEmbedded checks the embedded templates once per process: Templates
// are read-only once parsed, and server.Open starts the check while it
// opens the database.
var loadEmbedded = sync.OnceValues(func() (*Templates, error) { return loadTemplates(templateFiles) })

func loadTemplates(fsys fs.FS) (*Templates, error) {
	dirs, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	t := &Templates{langs: map[string]func() (*langTemplates, error){}}
	for _, d := range dirs {
		if !d.IsDir() {
			return nil, fmt.Errorf("mail templates: unexpected file templates/%s", d.Name())
		}
		lang := d.Name()
		load := func() (*langTemplates, error) {
			lt, err := loadLang(fsys, lang)
			if err != nil {
				return nil, fmt.Errorf("mail templates: %w", err)
			}
			return lt, nil
		}
		if _, err := load(); err != nil {
			return nil, err
		}
		t.langs[lang] = sync.OnceValues(load)
	}
	if t.langs[DefaultLang] == nil {
		return nil, fmt.Errorf("mail templates: no templates for the default language %q", DefaultLang)
	}
	return t, nil
}

func loadLang(fsys fs.FS, lang string) (*langTemplates, error) {
	loc, ok := locales[lang]
	if !ok {
		return nil, fmt.Errorf("templates/%s: no locale for language %q in locale.go", lang, lang)
	}
	dir := path.Join("templates", lang)
	if err := checkFiles(fsys, dir); err != nil {
		return nil, err
	}
	textBase, err := texttemplate.New("layout.txt").Funcs(loc.funcs()).ParseFS(fsys, dir+"/layout.txt")
	if err != nil {
		return nil, err
	}
	htmlBase, err := htmltemplate.New("layout.html").Funcs(loc.funcs()).ParseFS(fsys, dir+"/layout.html")
	if err != nil {
		return nil, err
	}
	lt := &langTemplates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for name := range messages {
		file := path.Join(dir, name)
		tt, err := texttemplate.Must(textBase.Clone()).ParseFS(fsys, file+".txt")
		if err != nil {
			return nil, err
		}
		if err := checkSubjectLine(fsys, file+".txt"); err != nil {
			return nil, err
		}
		ht, err := htmltemplate.Must(htmlBase.Clone()).ParseFS(fsys, file+".html")
		if err != nil {
			return nil, err
		}
		lt.text[name] = tt.Lookup(name + ".txt")
		lt.html[name] = ht.Lookup(name + ".html")
	}
	return lt, nil
}

// checkFiles refuses a file that is no message's: most likely a typo in a
// name, which would otherwise surface as "missing" with no hint why.
func checkFiles(fsys fs.FS, dir string) error {
	files, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		name, ext, _ := strings.Cut(f.Name(), ".")
		_, known := messages[name]
		if (!known && name != "layout") || (ext != "txt" && ext != "html") {
			return fmt.Errorf("%s/%s: not a message template (messages are listed in templates.go)", dir, f.Name())
		}
	}
	return nil
}

func checkSubjectLine(fsys fs.FS, file string) error {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(b, []byte("Subject: ")) {
		return fmt.Errorf("%s: the first line must be \"Subject: ...\"", file)
	}
	return nil
}

// Names returns the names of all messages, sorted.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(messages))
	for name := range messages {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Langs returns the languages that have templates, sorted.
func (t *Templates) Langs() []string {
	langs := make([]string, 0, len(t.langs))
	for l := range t.langs {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	return langs
}

// Render renders message name in lang ("tr", "id-ID", "en_GB"...), falling
// back to DefaultLang for a language without templates. It returns an error
// for an unknown message, or for data that lacks what the message needs.
func (t *Templates) Render(name, lang string, d Data) (Message, error) {
	msg, ok := messages[name]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown message %q", name)
	}
	load := t.langs[baseLang(lang)]
	if load == nil {
		load = t.langs[DefaultLang]
	}
	d = d.tidy()
	if err := msg.check(d); err != nil {
		return Message{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	lt, err := load()
	if err != nil {
		return Message{}, err
	}

	var text, html strings.Builder
	if err := lt.text[name].Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	subjectLine, body, _ := strings.Cut(text.String(), "\n")
	subject := strings.TrimSpace(strings.TrimPrefix(subjectLine, "Subject: "))
	if err := lt.html[name].Execute(&html, htmlView{Data: d, Subject: subject}); err != nil {
		return Message{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	to := d.Email
	if msg.toOld {
		to = d.OldEmail
	}
	return Message{To: to, Subject: subject, Text: tidyText(body), HTML: tidyText(html.String())}, nil
}

func baseLang(lang string) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	base, _, _ = strings.Cut(base, "_")
	return base
}

func (m message) check(d Data) error {
	v := reflect.ValueOf(d)
	var missing []string
	for _, f := range m.needs {
		if v.FieldByName(f).IsZero() {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if len(m.actions) > 0 && !slices.Contains(m.actions, d.Action) {
		return fmt.Errorf("Action %q is none of %v", d.Action, m.actions)
	}
	if d.Link != "" {
		if err := checkLink(d.Link); err != nil {
			return err
		}
	}
	return nil
}

// checkLink refuses anything but an absolute http(s) URL, so that a
// mistake in the caller cannot put a javascript: or relative link in a
// security mail.
func checkLink(link string) error {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("the link must be an absolute http(s) URL")
	}
	if strings.ContainsFunc(link, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("the link contains spaces or control characters")
	}
	return nil
}

// tidy makes every free-text field one line of reasonable length. Names and
// company names are typed by users and admins; without this a name could
// start new paragraphs (a phishing text inside a genuine security mail) or
// reverse the display of what follows it (bidi controls).
func (d Data) tidy() Data {
	if d.Product == "" {
		d.Product = "Gatehouse"
	}
	for _, f := range []struct {
		s   *string
		max int
	}{
		{&d.Product, 60}, {&d.Name, 100}, {&d.Company, 100}, {&d.Actor, 150},
		{&d.TargetName, 100}, {&d.UserAgent, 200}, {&d.IP, 64},
		{&d.Email, 254}, {&d.OldEmail, 254}, {&d.NewEmail, 254}, {&d.TargetEmail, 254},
		{&d.Endpoint, 300}, {&d.Reason, 300},
	} {
		*f.s = oneLine(*f.s, f.max)
	}
	return d
}

func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
			return ' '
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069': // bidi embeddings and isolates
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText lets templates be written for reading: trailing spaces go, runs of
// blank lines become one, and the text ends in exactly one newline.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}
