package totp

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of an outside program that witnesses this
// package's output. Developers without it get a skip; CI must have it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found and CI=true: install it (apt-get install %s)", name, pkg)
	}
	t.Skipf("%s not found: install it (apt-get install %s) to check against an outside implementation", name, pkg)
	return ""
}

// oathtoolCode asks oathtool for the TOTP code of a base32 secret at a time.
func oathtoolCode(t *testing.T, oathtool, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command(oathtool, "--totp", "-b", "-N", "@"+strconv.FormatInt(at.Unix(), 10), secret).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %s: %v: %s", secret, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCodeAgreesWithOathtool(t *testing.T) {
	oathtool := needTool(t, "oathtool", "oathtool")
	secrets := [][]byte{
		[]byte("12345678901234567890"),
		NewSecret(),
		NewSecret(),
		[]byte("0123456789abcdef"), // 16 bytes: base32 that would need padding
	}
	times := []time.Time{
		time.Unix(59, 0),
		time.Unix(1111111109, 0),
		time.Unix(1700000000, 0),
		time.Unix(2000000000, 0),
		time.Now(),
	}
	for _, secret := range secrets {
		for _, at := range times {
			want := oathtoolCode(t, oathtool, EncodeSecret(secret), at)
			if got := Code(secret, Step(at)); got != want {
				t.Errorf("secret %s at %d: got %s, oathtool says %s", EncodeSecret(secret), at.Unix(), got, want)
			}
		}
	}
}

func TestQRPNG(t *testing.T) {
	uri := URI("Gatehouse", "ada@example.com", NewSecret())
	b, err := QRPNG(uri)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	size := img.Bounds().Size()
	if size.X != size.Y || size.X < 256 || size.X > 360 {
		t.Errorf("got %v pixels, want a square of about 320", size)
	}
	// The quiet zone: the outer border is white all round.
	for i := 0; i < size.X; i++ {
		for _, p := range [][2]int{{i, 0}, {0, i}, {i, size.Y - 1}, {size.X - 1, i}} {
			if r, _, _, _ := img.At(p[0], p[1]).RGBA(); r != 0xffff {
				t.Fatalf("pixel %v is not white: no quiet zone", p)
			}
		}
	}
}

func TestQRPNGTooLong(t *testing.T) {
	if _, err := QRPNG(strings.Repeat("x", 5000)); err == nil {
		t.Error("5000 bytes encoded; want an error")
	}
}

// The enrollment journey end to end, with outside tools standing in for the
// phone: zbarimg scans the QR code, oathtool plays the authenticator app,
// and the server verifies the code the person would type.
func TestEnrollmentJourney(t *testing.T) {
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	oathtool := needTool(t, "oathtool", "oathtool")

	accounts := []struct{ issuer, account string }{
		{"Gatehouse", "ada@example.com"},
		{"Acme, Inc. (EU)", "Ada Lovelace"},
		{"A:B?&#/", "x:y/z#w?v&u=t"},
		{"Zürich AG", "用户@例子.中国"},
	}
	for _, a := range accounts {
		secret := NewSecret()
		uri := URI(a.issuer, a.account, secret)
		img, err := QRPNG(uri)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(file, img, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbarimg, "--raw", "-q", file).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		scanned := strings.TrimSuffix(string(out), "\n")
		if scanned != uri {
			t.Fatalf("zbarimg read %q, want %q", scanned, uri)
		}

		issuer, account, b32, err := parseURI(scanned)
		if err != nil || issuer != a.issuer || account != a.account {
			t.Fatalf("scanned URI gives (%q, %q, %v), want (%q, %q)", issuer, account, err, a.issuer, a.account)
		}
		if dec, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b32); err != nil || !bytes.Equal(dec, secret) {
			t.Fatalf("scanned secret %s does not decode to the secret", b32)
		}

		now := time.Now()
		typed := oathtoolCode(t, oathtool, b32, now)
		step, ok := Verify(secret, typed, now, 0)
		if !ok || step != Step(now) {
			t.Fatalf("Verify(oathtool's %s) = (%d, %v), want (%d, true)", typed, step, ok, Step(now))
		}
		if _, ok := Verify(secret, typed, now, step); ok {
			t.Fatal("the same code was accepted twice")
		}
	}
}
