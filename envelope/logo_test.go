package envelope

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func testPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for x := range 40 {
		for y := range 20 {
			img.Set(x, y, color.RGBA{0x1f, 0x5f, 0xbf, 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// With a logo the HTML alternative is multipart/related: the HTML shows
// the image by cid:, and the image is an inline part with that Content-ID.
func TestNotificationLogo(t *testing.T) {
	logo, err := NewLogo(testPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Logo = logo
	s := sealOK(t, testRequest(textMessage()), opt)
	n := parseNotification(t, s)
	if !bytes.Equal(n.logo, logo.Data) || n.logoType != "image/png" || n.logoCID != "<"+logoCID+">" {
		t.Fatalf("logo part: %d bytes, %q, Content-ID %q", len(n.logo), n.logoType, n.logoCID)
	}
	if !strings.Contains(n.html, `<img src="cid:`+logoCID+`" alt="Example Health logo"`) {
		t.Errorf("html part does not show the logo by cid:\n%s", n.html)
	}
	body := string(s.Body)
	order := regexp.MustCompile(`(?s)multipart/alternative.*text/plain.*multipart/related; type="text/html".*text/html; charset=utf-8.*Content-ID: <` + logoCID + `>.*text/html; charset=us-ascii`)
	if !order.MatchString(body) {
		t.Error("parts are not mixed[alternative[text, related[html, logo]], securedoc]")
	}
	// Without a logo nothing of it is there.
	plain := parseNotification(t, sealOK(t, testRequest(textMessage()), testOptions()))
	if plain.logo != nil || strings.Contains(plain.html, "cid:") {
		t.Error("a notification without a logo refers to one")
	}
}

func TestReadLogo(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if l, err := ReadLogo(write("logo.png", testPNG(t))); err != nil || l.Type != "image/png" {
		t.Errorf("a PNG: %v %+v", err, l)
	}
	for name, b := range map[string][]byte{
		"logo.svg": []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
		"big.png":  append(testPNG(t), make([]byte, MaxLogoSize)...),
	} {
		if _, err := ReadLogo(write(name, b)); err == nil {
			t.Errorf("%s accepted as a logo", name)
		}
	}
	if _, err := ReadLogo(filepath.Join(dir, "missing.png")); err == nil {
		t.Error("a missing file accepted")
	}
}
