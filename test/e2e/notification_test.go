package e2e

// The notification as a mail program shows it: its HTML part with the
// images of its multipart/related resolved by Content-ID, rendered in
// headless Chromium.

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message"
)

func TestNotificationLogoInChromium(t *testing.T) {
	ctx := startBrowser(t)
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for x := range 120 {
		for y := range 40 {
			img.Set(x, y, color.RGBA{0xb3, 0x26, 0x1e, 0xff})
		}
	}
	var logo bytes.Buffer
	if err := png.Encode(&logo, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logo.png"), logo.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "postseal.toml")
	if err := os.WriteFile(cfg, []byte("[organization]\nname = \"Example Health\"\nlogo = \"logo.png\"\n[store]\ndsn = \"p.db\"\nmaster_key = \"master.key\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(postsealBinary(t), "seal", "-c", cfg, "--from", postfixSender, "--to", "reader@partner.example.net")
	cmd.Stdin = bytes.NewReader(browserMessage("reader@partner.example.net", []byte("x")))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("postseal seal: %v", err)
	}

	// What a mail program does with multipart/related: each cid: in the
	// HTML names a part by its Content-ID.
	e, err := message.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var html string
	byCID := map[string]string{}
	err = e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil || p.MultipartReader() != nil {
			return err
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			return err
		}
		mt, _, _ := p.Header.ContentType()
		switch {
		case mt == "text/html" && p.Header.Get("Content-Disposition") == "":
			html = string(b)
		case strings.HasPrefix(mt, "image/"):
			cid := strings.Trim(p.Header.Get("Content-Id"), "<>")
			byCID["cid:"+cid] = "data:" + mt + ";base64," + base64.StdEncoding.EncodeToString(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if html == "" || len(byCID) != 1 {
		t.Fatalf("notification: html part %d bytes, %d inline images; want the HTML and one logo", len(html), len(byCID))
	}
	for cid, data := range byCID {
		if !strings.Contains(html, `src="`+cid+`"`) {
			t.Fatalf("the HTML does not show %s", cid)
		}
		html = strings.ReplaceAll(html, cid, data)
	}
	page := filepath.Join(dir, "notification.html")
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	browserDo(t, ctx, "show the notification", chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.CSS("img")))
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	// decode() settles once the image is loaded (or failed): no polling.
	shown, err := chromedp.Run(sctx, chromedp.Evaluate[string](`(async () => { const i = document.querySelector('img'); await i.decode().catch(() => {}); return i.complete + " " + i.naturalWidth + "x" + i.naturalHeight + " " + i.alt; })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if shown != "true 120x40 Example Health logo" {
		t.Errorf("logo in the rendered notification: %q; want it shown (120x40) with its alt text", shown)
	}
	text := browserEval[string](t, ctx, `document.body.innerText`)
	for _, want := range []string{"For best results, save the file first, then open it.", "If you have concerns about the validity of this message, contact the sender directly."} {
		if !strings.Contains(text, want) {
			t.Errorf("notification lacks %q:\n%s", want, text)
		}
	}
}
