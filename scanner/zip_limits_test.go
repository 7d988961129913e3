package scanner

import (
	"bytes"
	"fmt"
	"testing"
)

// The checks on an archive entry, each at its exact edge: what is at a
// limit is read, what is past it is not.
func TestZipEntryEdges(t *testing.T) {
	text := func(n int) []byte { return bytes.Repeat([]byte("SSN 536-22-1234\n"), n/16) }
	for _, c := range []struct {
		name   string
		zip    []byte
		lim    Limits
		read   int64  // bytes of text read from the entry
		reason string // else: the reason it is not read
	}{
		{"declared size at MaxEntry", makeZip(t, zfile{"a.txt", text(4096)}), Limits{MaxEntry: 4096}, 4096, ""},
		{"declared size over MaxEntry", makeZip(t, zfile{"a.txt", text(4112)}), Limits{MaxEntry: 4096}, 0, "declared size 4112 exceeds limit of 4096 bytes"},
		// 1 MiB of zeros compresses 1000:1, but entries up to 1 MiB are
		// not held to the ratio.
		{"1 MiB at any ratio", zeroZip(t, "a.txt", 1<<20), Limits{}, 1 << 20, ""},
		{"ratio at MaxRatio", paddedZeroZip(t, "a.txt", 4<<20, 32<<10), Limits{MaxRatio: 128}, 4 << 20, ""},
		{"ratio over MaxRatio", paddedZeroZip(t, "a.txt", 4<<20, 32<<10), Limits{MaxRatio: 127}, 0, "compression ratio 128 exceeds limit of 127"},
		// 2,019,999 bytes from 20,000: a ratio of 100 in whole numbers,
		// but more than 100 times the compressed size comes out.
		{"inflated past ratio × compressed size", paddedZeroZip(t, "a.txt", 20000*101-1, 20000), Limits{}, 0, "inflated beyond its limit of 2000000 bytes (declared 2019999)"},
		// The budget for all inflated bytes (4 × MaxTotal) used up by
		// this entry exactly.
		{"work budget used up", makeZip(t, zfile{"a.txt", text(4000)}), Limits{MaxTotal: 1000}, 0, "decompression budget of 4000 bytes for the message used up"},
		{"work budget left", makeZip(t, zfile{"a.txt", text(3984)}), Limits{MaxTotal: 4000}, 3984, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := extract(t, multipartMsg("z", attachment("z.zip", "application/zip", c.zip)), c.lim)
			p := partBySource(x, "archive z.zip/a.txt")
			var n int64
			if p != nil {
				n = int64(len(p.Text))
			}
			if n != c.read {
				t.Errorf("read %d bytes, want %d", n, c.read)
			}
			if c.reason == "" && len(x.Unreadable) > 0 {
				t.Errorf("unreadable %+v", x.Unreadable)
			}
			if c.reason != "" && (len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"archive z.zip/a.txt", c.reason}) || !x.Truncated) {
				t.Errorf("unreadable %+v, want %q", x.Unreadable, c.reason)
			}
		})
	}
}

// MaxDepth archives are opened, the one inside the last is not.
func TestZipDepthEdge(t *testing.T) {
	z := makeZip(t, zfile{"e.txt", []byte("SSN 536-22-1234")})
	for _, name := range []string{"d.zip", "c.zip", "b.zip"} {
		z = makeZip(t, zfile{name, z})
	}
	x := extract(t, multipartMsg("deep", attachment("a.zip", "application/zip", z)), Limits{MaxDepth: 3})
	if len(x.Parts) != 1 || len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"archive a.zip/b.zip/c.zip/d.zip", "archives nested deeper than 3"}) {
		t.Errorf("parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}
}

// An archive's junk (Finder's .DS_Store, Explorer's Thumbs.db) is passed
// over by name; a file of the same kind under another name is not.
func TestZipJunk(t *testing.T) {
	junk := []byte{0, 0, 0, 1, 'B', 'u', 'd', '1', 0, 0xff}
	z := makeZip(t, zfile{".DS_Store", junk}, zfile{"docs/Thumbs.db", junk}, zfile{"desktop.ini", junk}, zfile{"notes.txt", []byte("SSN 536-22-1234")}, zfile{"store.bin", junk})
	x := extract(t, multipartMsg("junk", attachment("a.zip", "application/zip", z)), Limits{})
	var srcs []string
	for _, p := range x.Parts {
		srcs = append(srcs, p.Source)
	}
	if fmt.Sprint(srcs) != "[header Subject archive a.zip/notes.txt]" || len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"archive a.zip/store.bin", "unsupported file type"}) {
		t.Errorf("parts %v, unreadable %+v", srcs, x.Unreadable)
	}
	// What decides a package's kind is its content: a renamed one, or an
	// archive missing the part its name promises.
	for _, c := range []struct {
		name, ctype string
		zip         []byte
		src, text   string
		reason      string
	}{
		{"a.docx", "application/octet-stream", makeZip(t, zfile{"xl/sharedStrings.xml", []byte("<sst><si><t>shared</t></si></sst>")}), "attachment a.docx", "shared\n\n", ""},
		{"a.xlsx", "application/octet-stream", makeZip(t, zfile{"mimetype", []byte("application/vnd.oasis.opendocument.text")}, zfile{"content.xml", []byte("<office:text><text:p>odt</text:p></office:text>")}), "attachment a.xlsx", "odt\n\n", ""},
		{"a.docx", "application/octet-stream", makeZip(t, zfile{"content.xml", []byte("<text:p>no mimetype</text:p>")}), "attachment a.docx", "", "corrupt DOCX: required part missing"},
		{"a.zip", "application/zip", makeZip(t, zfile{"content.xml", []byte("<text:p>no mimetype</text:p>")}), "archive a.zip/content.xml", "<text:p>no mimetype</text:p>", ""},
	} {
		x := extract(t, multipartMsg("k", attachment(c.name, c.ctype, c.zip)), Limits{})
		p := partBySource(x, c.src)
		switch {
		case c.reason != "" && (p != nil || !unreadableFor(x, "attachment "+c.name, c.reason)):
			t.Errorf("%s: parts %+v, unreadable %+v; want %q", c.name, x.Parts, x.Unreadable, c.reason)
		case c.reason == "" && (p == nil || string(p.Text) != c.text || len(x.Unreadable) > 0):
			t.Errorf("%s: parts %q, unreadable %+v; want %q", c.name, x.Parts, x.Unreadable, c.text)
		}
	}
}
