package api_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/totp"
)

// The outside witness: the QR code from the API, scanned by zbarimg, gives
// a secret from which oathtool (standing in for the phone) makes codes that
// enroll and then log in.
func TestTOTPQRCodeWithZbarimgAndOathtool(t *testing.T) {
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	oathtool := needTool(t, "oathtool", "oathtool")
	s := servertest.Start(t)
	s.Company(t, "Acme", "ada@example.com", pw)
	c := signedIn(t, s, "ada@example.com")

	alignClock(s)
	e := beginTOTP(t, c, nil)
	uri := scanQR(t, zbarimg, e.QR)
	if uri != e.URI {
		t.Fatalf("zbarimg read %q, want the otpauth_uri %q", uri, e.URI)
	}
	secret := secretOfURI(t, uri)
	if !strings.HasPrefix(uri, "otpauth://totp/Gatehouse:ada@example.com?secret="+secret+"&issuer=Gatehouse") {
		t.Fatalf("scanned URI %s: want otpauth://totp/Gatehouse:ada@example.com?secret=...&issuer=Gatehouse", uri)
	}

	r := c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": oathtoolCode(t, oathtool, s, secret)})
	if r.StatusCode != 200 {
		t.Fatalf("confirm with oathtool's code: got %d %s, want 200", r.StatusCode, r.Body)
	}
	recoveryCodes(t, r)

	s.Clock.Advance(totp.Period)
	login := s.Client(t)
	ch := loginChallenge(t, login, "ada@example.com", auth.StatusTOTPRequired)
	wantAuthenticated(t, loginTOTP(login, ch, map[string]string{"code": oathtoolCode(t, oathtool, s, secret)}))
}

// needTool finds an outside program, or skips (fails in CI) without it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testenv.Need(t, name+" is not installed (apt-get install "+pkg+")")
	}
	return path
}

// scanQR decodes a PNG QR code with zbarimg.
func scanQR(t *testing.T, zbarimg string, png []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbarimg, "--raw", "-q", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func secretOfURI(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("scanned URI %q: %v", uri, err)
	}
	return u.Query().Get("secret")
}

// oathtoolCode is oathtool's TOTP code for a base32 secret at the server's time.
func oathtoolCode(t *testing.T, oathtool string, s *servertest.Server, secret string) string {
	t.Helper()
	at := "@" + strconv.FormatInt(s.Clock.Now().Unix(), 10)
	out, err := exec.Command(oathtool, "--totp", "-b", "-N", at, secret).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TOTP secrets, confirmed and pending, are sealed at rest: the database
// file holds neither the secret nor its base32 form, the sealed value
// opens only with the server's key and only for its own user, and the
// recovery codes are stored hashed.
func TestTOTPSecretsSealedAtRest(t *testing.T) {
	s := servertest.Start(t)
	companyID, adaID := s.Company(t, "Acme", "ada@example.com", pw)
	bobID := addUser(t, s, companyID, "bob@example.com", "member")
	ada := signedIn(t, s, "ada@example.com")
	alignClock(s)
	e := beginTOTP(t, ada, nil)
	r := ada.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, e.Secret)})
	if r.StatusCode != 200 {
		t.Fatalf("confirm: got %d %s", r.StatusCode, r.Body)
	}
	recovery := recoveryCodes(t, r)
	bob := signedIn(t, s, "bob@example.com")
	pending := beginTOTP(t, bob, nil)
	bobSession := bob.Get("/api/v1/me/sessions").JSON(t)["sessions"].([]any)[0].(map[string]any)["id"].(string)

	db, err := sql.Open("sqlite", filepath.Join(s.Dir, "gatehouse.db")+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var adaSealed, bobPending []byte
	if err := db.QueryRow(`SELECT totp_secret FROM users WHERE id = $1`, adaID).Scan(&adaSealed); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT totp_pending_secret FROM users WHERE id = $1`, bobID).Scan(&bobPending); err != nil {
		t.Fatal(err)
	}

	var otherKey seal.Key
	rand.Read(otherKey[:])
	other := seal.New(otherKey)
	for _, tc := range []struct {
		name         string
		sealed       []byte
		secret       []byte
		b32          string
		aad, wrongAD string
	}{
		{"confirmed secret", adaSealed, e.Secret, e.B32, "totp:" + adaID, "totp:" + bobID},
		// A pending secret is bound to the session that asked for it too.
		{"pending secret", bobPending, pending.Secret, pending.B32, "totp-pending:" + bobID + ":" + bobSession, "totp-pending:" + bobID + ":" + adaID},
	} {
		if len(tc.sealed) == 0 {
			t.Errorf("%s: nothing stored", tc.name)
			continue
		}
		if bytes.Contains(tc.sealed, tc.secret) || bytes.Contains(tc.sealed, []byte(tc.b32)) {
			t.Errorf("%s: the stored bytes contain the secret", tc.name)
		}
		if _, err := other.Open(tc.sealed, []byte(tc.aad)); err == nil {
			t.Errorf("%s: opened with another key", tc.name)
		}
		if _, err := s.App.Sealer.Open(tc.sealed, []byte(tc.wrongAD)); err == nil {
			t.Errorf("%s: opened as another record (%s)", tc.name, tc.wrongAD)
		}
		got, err := s.App.Sealer.Open(tc.sealed, []byte(tc.aad))
		if err != nil || !bytes.Equal(got, tc.secret) {
			t.Errorf("%s: the server's key gives (%x, %v), want the secret", tc.name, got, err)
		}
	}

	// The whole file, not just the column: no secret or recovery code in
	// the clear anywhere (the WAL included).
	files, _ := filepath.Glob(filepath.Join(s.Dir, "gatehouse.db*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range append([]string{e.B32, pending.B32, string(e.Secret), string(pending.Secret)}, recovery...) {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("%s holds a secret or recovery code in the clear", filepath.Base(f))
			}
		}
	}
}
