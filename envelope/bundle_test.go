package envelope

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"
)

// The decryptor's gzip copies say nothing about when or where they were
// made (no name, no time: RFC 1952's MTIME 0), the same bytes every start,
// and inflate to exactly the script with the standard library's reader.
func TestGzipBestHeader(t *testing.T) {
	packed := strings.ReplaceAll(pack(decryptorJS), "\n", "")
	embedded, err := base64.StdEncoding.DecodeString(packed)
	if err != nil {
		t.Fatal(err)
	}
	for name, z := range map[string][]byte{"served": LinkedDecryptor().Gzip, "embedded": embedded} {
		r, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !r.ModTime.Equal(time.Time{}) || r.Name != "" || r.Comment != "" {
			t.Errorf("%s: header time %v (MTIME %d), name %q, comment %q; want none", name, r.ModTime, uint32(z[4])|uint32(z[5])<<8|uint32(z[6])<<16|uint32(z[7])<<24, r.Name, r.Comment)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != decryptorJS {
			t.Errorf("%s: inflates to %d bytes (%v), want the script's %d", name, len(got), err, len(decryptorJS))
		}
		if again := gzipBest(decryptorJS); !bytes.Equal(again, LinkedDecryptor().Gzip) {
			t.Errorf("gzipBest gives other bytes on a second call")
		}
	}
}
