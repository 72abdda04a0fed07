package totp

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

const (
	// qrTargetSize is the width in pixels QRPNG aims for: big enough for a
	// phone camera across a desk, small enough for any page layout.
	qrTargetSize = 320
	// qrMinModule is the fewest pixels per module, so that a long input
	// gives a larger image rather than an unreadable one.
	qrMinModule = 4
	// qrQuietZone is the white border, in modules, that the QR standard
	// requires and that scanners need to find the code on a dark page.
	// The qr package draws none.
	qrQuietZone = 4
)

// QRPNG renders s as a black-on-white QR code PNG of about 320 pixels square,
// with medium error correction (a smudged or glaring screen still scans) and
// a quiet zone.
func QRPNG(s string) ([]byte, error) {
	code, err := qr.Encode(s, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qr code for %d bytes: %w", len(s), err)
	}
	modules := code.Bounds().Dx()
	scale := max(qrMinModule, qrTargetSize/(modules+2*qrQuietZone))
	// Scaling by a whole number keeps every module the same size.
	scaled, err := barcode.Scale(code, modules*scale, modules*scale)
	if err != nil {
		return nil, err
	}

	side := (modules + 2*qrQuietZone) * scale
	// Palette index 0 is white, so the new image starts as a blank quiet zone;
	// a two-colour palette also makes the PNG a few hundred bytes.
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	margin := qrQuietZone * scale
	draw.Draw(img, scaled.Bounds().Add(image.Pt(margin, margin)), scaled, image.Point{}, draw.Src)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
