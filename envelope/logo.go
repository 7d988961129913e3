package envelope

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
)

// The organisation's logo travels inside every notification, as an inline
// part of a multipart/related HTML alternative the HTML refers to by
// "cid:" — mail programs show such images without asking to load remote
// content, and nothing is fetched from the organisation when the mail is
// read.

// Logo is an image for the notification and the key service's pages.
type Logo struct {
	Data []byte
	Type string // image/png, image/jpeg or image/gif
}

// MaxLogoSize bounds the logo: it is sent with every notification.
const MaxLogoSize = 256 << 10

// logoCID is the Content-ID the HTML part refers to.
const logoCID = "logo@postseal"

// ReadLogo reads and checks a logo file: a PNG, JPEG or GIF image of at
// most MaxLogoSize bytes (by content, not file name: mail programs show
// these three inline; SVG can carry scripts and many do not show it).
func ReadLogo(path string) (*Logo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxLogoSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxLogoSize {
		return nil, fmt.Errorf("%s: larger than %d KiB (it goes with every notification)", path, MaxLogoSize>>10)
	}
	return NewLogo(b)
}

// NewLogo checks image bytes as ReadLogo does.
func NewLogo(b []byte) (*Logo, error) {
	switch t := http.DetectContentType(b); t {
	case "image/png", "image/jpeg", "image/gif":
		return &Logo{Data: b, Type: t}, nil
	default:
		return nil, fmt.Errorf("a logo must be a PNG, JPEG or GIF image, this is %s", t)
	}
}

// writeLogoPart writes the logo as an inline base64 part of a
// multipart/related with boundary b.
func writeLogoPart(w io.Writer, b string, l *Logo) error {
	ext := map[string]string{"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}[l.Type]
	if err := writeLines(w, "--"+b,
		"Content-Type: "+l.Type+`; name="logo.`+ext+`"`,
		"Content-Transfer-Encoding: base64",
		"Content-ID: <"+logoCID+">",
		`Content-Disposition: inline; filename="logo.`+ext+`"`, ""); err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(l.Data)
	for len(enc) > 76 {
		if err := writeLines(w, enc[:76]); err != nil {
			return err
		}
		enc = enc[76:]
	}
	return writeLines(w, enc)
}
