package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// recoveryEntity is a fresh Curve25519 key pair (fast to generate).
func recoveryEntity(t testing.TB) *openpgp.Entity {
	t.Helper()
	// Made a year before testNow, the seal time: a key created after the
	// moment a message is sealed is not valid for it, and a key made at
	// the wall clock would turn invalid once the clock passes testNow.
	made := testNow.AddDate(-1, 0, 0)
	e, err := openpgp.NewEntity("Recovery", "", "recovery@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return made }})
	if err != nil {
		t.Fatalf("NewEntity: %v", err)
	}
	return e
}

func TestSealRoundTrip(t *testing.T) {
	recovery := recoveryEntity(t)
	messages := map[string][]byte{
		"empty":      {},
		"text":       textMessage(),
		"attachment": attachmentMessage(t, 200<<10),
	}
	for _, prof := range []string{ProfileRFC4880, ProfileRFC9580} {
		for name, msg := range messages {
			for _, withRecovery := range []bool{false, true} {
				t.Run(prof+"/"+name+"/recovery="+map[bool]string{false: "no", true: "yes"}[withRecovery], func(t *testing.T) {
					opt := testOptions()
					opt.Profile = prof
					if withRecovery {
						opt.RecoveryKey = openpgp.EntityList{recovery}
					}
					s := sealOK(t, testRequest(msg), opt)
					if len(s.Key) != KeySize {
						t.Fatalf("key is %d bytes, want %d", len(s.Key), KeySize)
					}
					payload := payloadOf(t, parseNotification(t, s).page)

					got, md, err := decrypt(payload, []byte(Passphrase(s.Key)), nil)
					if err != nil {
						t.Fatalf("decrypt with passphrase: %v", err)
					}
					if !bytes.Equal(got, msg) {
						t.Fatalf("passphrase round trip: got %d bytes, want %d (equal=%v)", len(got), len(msg), bytes.Equal(got, msg))
					}
					if md.LiteralData.FileName != "message.eml" || !md.LiteralData.IsBinary {
						t.Errorf("literal data: name %q binary %v", md.LiteralData.FileName, md.LiteralData.IsBinary)
					}

					_, _, err = decrypt(payload, []byte(Passphrase(s.Key)+"x"), nil)
					if err == nil {
						t.Error("a wrong passphrase decrypted the message")
					}

					_, _, errKey := decrypt(payload, nil, openpgp.EntityList{recovery})
					if !withRecovery {
						if errKey == nil {
							t.Error("recovery key opened an envelope not encrypted to it")
						}
						return
					}
					got, _, err = decrypt(payload, nil, openpgp.EntityList{recovery})
					if err != nil {
						t.Fatalf("decrypt with recovery key: %v", err)
					}
					if !bytes.Equal(got, msg) {
						t.Fatal("recovery key round trip: content differs")
					}
				})
			}
		}
	}
}

// packets lists the raw packets of an armoured message.
func packets(t testing.TB, armoured string) []*packet.OpaquePacket {
	t.Helper()
	block, err := armor.Decode(strings.NewReader(armoured))
	if err != nil {
		t.Fatalf("armor.Decode: %v", err)
	}
	if block.Type != "PGP MESSAGE" {
		t.Fatalf("armour type %q", block.Type)
	}
	var out []*packet.OpaquePacket
	r := packet.NewOpaqueReader(block.Body)
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("packet: %v", err)
		}
		out = append(out, p)
	}
}

const (
	tagPKESK = 1
	tagSKESK = 3
	tagSEIPD = 18

	s2kIterated = 3
	s2kArgon2   = 4

	cipherAES256 = 9
	aeadGCM      = 3
)

// skeskS2KMode returns the S2K specifier type of a raw SKESK packet.
func skeskS2KMode(t testing.TB, p *packet.OpaquePacket) byte {
	t.Helper()
	c := p.Contents
	switch c[0] {
	case 4: // version, cipher, S2K
		return c[2]
	case 6: // version, count, cipher, AEAD mode, S2K length, S2K
		return c[5]
	}
	t.Fatalf("SKESK version %d", c[0])
	return 0
}

func TestPacketTypes(t *testing.T) {
	recovery := recoveryEntity(t)
	tests := []struct {
		profile      string
		password     []byte
		skeskVersion byte
		pkeskVersion byte
		seipdVersion byte
		s2k          byte
	}{
		{ProfileRFC4880, nil, 4, 3, 1, s2kIterated},
		{ProfileRFC4880, []byte("correct horse battery staple"), 4, 3, 1, s2kIterated},
		{ProfileRFC9580, nil, 6, 6, 2, s2kIterated},
		{ProfileRFC9580, []byte("correct horse battery staple"), 6, 6, 2, s2kArgon2},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/password="+map[bool]string{true: "yes", false: "no"}[tt.password != nil], func(t *testing.T) {
			opt := testOptions()
			opt.Profile = tt.profile
			opt.RecoveryKey = openpgp.EntityList{recovery}
			req := testRequest(textMessage())
			req.Password = tt.password
			s := sealOK(t, req, opt)
			payload := payloadOf(t, parseNotification(t, s).page)
			ps := packets(t, payload)
			if len(ps) != 3 {
				t.Fatalf("%d packets, want SKESK, PKESK, SEIPD", len(ps))
			}
			if ps[0].Tag != tagSKESK || ps[1].Tag != tagPKESK || ps[2].Tag != tagSEIPD {
				t.Fatalf("packet tags %d %d %d, want %d %d %d", ps[0].Tag, ps[1].Tag, ps[2].Tag, tagSKESK, tagPKESK, tagSEIPD)
			}
			sk, pk, se := ps[0].Contents, ps[1].Contents, ps[2].Contents
			if sk[0] != tt.skeskVersion {
				t.Errorf("SKESK version %d, want %d", sk[0], tt.skeskVersion)
			}
			if pk[0] != tt.pkeskVersion {
				t.Errorf("PKESK version %d, want %d", pk[0], tt.pkeskVersion)
			}
			if se[0] != tt.seipdVersion {
				t.Errorf("SEIPD version %d, want %d", se[0], tt.seipdVersion)
			}
			if got := skeskS2KMode(t, ps[0]); got != tt.s2k {
				t.Errorf("S2K type %d, want %d", got, tt.s2k)
			}
			switch tt.seipdVersion {
			case 1:
				if sk[1] != cipherAES256 {
					t.Errorf("SKESK cipher %d, want AES-256", sk[1])
				}
				// The session key's algorithm is inside the SKESK.
				p, err := packet.Read(bytes.NewReader(serialize(t, ps[0])))
				if err != nil {
					t.Fatal(err)
				}
				pass := tt.password
				if pass == nil {
					pass = []byte(Passphrase(s.Key))
				}
				_, c, err := p.(*packet.SymmetricKeyEncrypted).Decrypt(pass)
				if err != nil {
					t.Fatalf("SKESK decrypt: %v", err)
				}
				if c != packet.CipherAES256 {
					t.Errorf("session cipher %d, want AES-256", c)
				}
			case 2:
				if sk[2] != cipherAES256 || sk[3] != aeadGCM {
					t.Errorf("SKESK v6 cipher %d mode %d, want AES-256 GCM", sk[2], sk[3])
				}
				if se[1] != cipherAES256 || se[2] != aeadGCM {
					t.Errorf("SEIPD v2 cipher %d mode %d, want AES-256 GCM (never OCB)", se[1], se[2])
				}
			}
			if strings.Contains(payload, "\n=") != (tt.seipdVersion == 1) {
				t.Errorf("armour checksum present=%v, want %v", strings.Contains(payload, "\n="), tt.seipdVersion == 1)
			}
		})
	}
}

func serialize(t testing.TB, p *packet.OpaquePacket) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSharedPassword(t *testing.T) {
	password := []byte("Partner-Shared-Secret-2026")
	for _, prof := range []string{ProfileRFC4880, ProfileRFC9580} {
		t.Run(prof, func(t *testing.T) {
			opt := testOptions()
			opt.Profile = prof
			msg := textMessage()
			req := testRequest(msg)
			req.Password = password
			s := sealOK(t, req, opt)
			if s.Key != nil {
				t.Fatalf("Key = %x, want nil for a shared password", s.Key)
			}
			n := parseNotification(t, s)
			got, _, err := decrypt(payloadOf(t, n.page), password, nil)
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("content differs")
			}
			if !strings.Contains(n.text, "password agreed") || strings.Contains(n.text, "register") {
				t.Errorf("notification text does not fit a shared password:\n%s", n.text)
			}
		})
	}
}

// TestGPG checks that GnuPG opens the rfc4880 profile with the message key,
// also when a recovery key's PKESK comes first in line.
func TestGPG(t *testing.T) {
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg not found, and CI is set")
		}
		t.Skip("gpg not found")
	}
	recovery := recoveryEntity(t)
	tests := map[string]struct {
		msg      []byte
		recovery bool
		password []byte
		// compressed: the message goes in a compressed packet (ZIP).
		compressed bool
	}{
		"text":                {msg: textMessage()}, // too short to compress
		"attachment+recovery": {msg: attachmentMessage(t, 300<<10), recovery: true, compressed: true},
		"shared password":     {msg: textMessage(), password: []byte("Partner-Shared-Secret-2026")},
		"empty":               {msg: []byte{}},
		"stored":              {msg: noise(t, 200_000)}, // no compressed packet
		// Large messages are compressed in parallel blocks: a whole
		// number of them, one octet more, and blocks of base64 noise
		// (stored by deflate) between blocks of text.
		"large text, whole blocks":   {msg: mailText(12 * blockSize), compressed: true},
		"large text, one octet more": {msg: mailText(12*blockSize + 1), compressed: true},
		"large attachment":           {msg: attachmentMessage(t, 2<<20), compressed: true},
		"large noise":                {msg: noise(t, 2<<20)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			opt := testOptions()
			if tt.recovery {
				opt.RecoveryKey = openpgp.EntityList{recovery}
			}
			req := testRequest(tt.msg)
			req.Password = tt.password
			s := sealOK(t, req, opt)
			pass := string(tt.password)
			if pass == "" {
				pass = Passphrase(s.Key)
			}
			dir := t.TempDir()
			home := filepath.Join(dir, "gnupg")
			if err := os.Mkdir(home, 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "payload.asc")
			payload := payloadOf(t, parseNotification(t, s).page)
			if err := os.WriteFile(file, []byte(strings.ReplaceAll(payload, "\r\n", "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			// A file, not --passphrase: a base64url key may start with "-",
			// which gpg would take for an option.
			passFile := filepath.Join(dir, "pass")
			if err := os.WriteFile(passFile, []byte(pass), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(gpg, "--batch", "--no-tty", "--homedir", home, "--pinentry-mode", "loopback",
				"--passphrase-file", passFile, "--decrypt", file)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("gpg: %v\n%s", err, stderr.String())
			}
			if !bytes.Equal(stdout.Bytes(), tt.msg) {
				t.Fatalf("gpg output differs: %d bytes, want %d\n%s", stdout.Len(), len(tt.msg), stderr.String())
			}
			if !strings.Contains(stderr.String(), "AES256") {
				t.Errorf("gpg does not report AES256:\n%s", stderr.String())
			}
			list := exec.Command(gpg, "--batch", "--no-tty", "--homedir", home, "--pinentry-mode", "loopback",
				"--passphrase-file", passFile, "--list-packets", file)
			out, err := list.CombinedOutput()
			if err != nil {
				t.Fatalf("gpg --list-packets: %v\n%s", err, out)
			}
			if got := bytes.Contains(out, []byte(":compressed packet: algo=1")); got != tt.compressed {
				t.Errorf("ZIP compressed packet present = %v, want %v:\n%s", got, tt.compressed, out)
			}
		})
	}
}

// TestSealLarge seals a 10 MB message with each profile, checks the round
// trip, and bounds allocation: sealing must stream. (Time is measured by
// the seal-10mb benchmark row, not asserted here.)
func TestSealLarge(t *testing.T) {
	msg := tenMB(t)
	for _, prof := range []string{ProfileRFC4880, ProfileRFC9580} {
		t.Run(prof, func(t *testing.T) {
			opt := testOptions()
			opt.Profile = prof
			req := testRequest(msg)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			s := sealOK(t, req, opt)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: sealed %d bytes in %v; allocated %.1f MB (%.2fx); body %.2fx",
				prof, len(msg), elapsed, float64(alloc)/1e6, float64(alloc)/float64(len(msg)),
				float64(len(s.Body))/float64(len(msg)))
			if alloc > uint64(3*len(msg)) && !raceEnabled {
				t.Errorf("sealing allocated %d bytes, over 3x the %d-byte message", alloc, len(msg))
			}
			got, _, err := decrypt(payloadOf(t, parseNotification(t, s).page), []byte(Passphrase(s.Key)), nil)
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("content differs")
			}
		})
	}
}

// tenMB is a message of about 10 MB: a text part and a base64 attachment.
func tenMB(t testing.TB) []byte {
	msg := attachmentMessage(t, (10<<20)*100/162)
	if len(msg) < 9<<20 || len(msg) > 11<<20 {
		t.Fatalf("test message is %d bytes, want about 10 MB", len(msg))
	}
	return msg
}

func BenchmarkSeal10MB(b *testing.B) {
	msg := tenMB(b)
	for _, prof := range []string{ProfileRFC4880, ProfileRFC9580} {
		b.Run(prof, func(b *testing.B) {
			opt := testOptions()
			opt.Profile = prof
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Seal(testRequest(msg), opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSealErrors(t *testing.T) {
	tests := map[string]struct {
		mutate func(*Request, *Options)
		want   string
	}{
		"unknown profile":     {func(r *Request, o *Options) { o.Profile = "rfc2440" }, "unknown profile"},
		"empty id":            {func(r *Request, o *Options) { r.ID = "" }, "envelope id"},
		"header injection id": {func(r *Request, o *Options) { r.ID = "abc\r\nBcc: x@evil.example" }, "not allowed"},
		"relative public URL": {func(r *Request, o *Options) { o.PublicURL = "keys.example.org" }, "public URL"},
		"javascript URL":      {func(r *Request, o *Options) { o.PublicURL = "javascript:alert(1)" }, "public URL"},
		"no original":         {func(r *Request, o *Options) { r.Original = nil }, "no original"},
		"failing reader":      {func(r *Request, o *Options) { r.Original = io.MultiReader(strings.NewReader("x"), errReader{}) }, "boom"},
		"recovery key without encryption subkey": {func(r *Request, o *Options) {
			e := recoveryEntity(t)
			e.Subkeys = nil
			o.RecoveryKey = openpgp.EntityList{e}
		}, "recovery key"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, opt := testRequest(textMessage()), testOptions()
			tt.mutate(&req, &opt)
			s, err := Seal(req, opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seal = %v, %v; want error containing %q", s, err, tt.want)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestNoPublicURL(t *testing.T) {
	opt := testOptions()
	opt.PublicURL = ""
	req := testRequest(textMessage())
	req.Password = []byte("Partner-Shared-Secret-2026")
	s := sealOK(t, req, opt)
	page := string(parseNotification(t, s).page)
	if strings.Contains(page, `<form id="open-online"`) || strings.Contains(page, ">Open Online</button>") {
		t.Error("page has an Open Online form without a key service")
	}
	if !strings.Contains(page, "form-action &#39;none&#39;") {
		t.Error("CSP does not forbid form submission")
	}
	got, _, err := decrypt(payloadOf(t, []byte(page)), req.Password, nil)
	if err != nil || !bytes.Equal(got, textMessage()) {
		t.Fatalf("decrypt: %v", err)
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[a-z2-7]{26}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID() = %q, want 26 lowercase base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestPassphrase(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:KeySize]
	p := Passphrase(key)
	if len(p) != 43 || strings.ContainsAny(p, "+/=") {
		t.Fatalf("Passphrase = %q, want 43 base64url characters", p)
	}
	back, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || !bytes.Equal(back, key) {
		t.Fatalf("Passphrase does not decode back to the key: %v", err)
	}
}

func TestAttachmentName(t *testing.T) {
	now := time.Date(2026, 11, 23, 16, 39, 59, 0, time.FixedZone("CET", 3600))
	tests := []struct{ pattern, want string }{
		{"", "securedoc_20261123T153959.html"},
		{"securedoc_{time}.html", "securedoc_20261123T153959.html"},
		{"Secure-{time}-{time}.htm", "Secure-20261123T153959-20261123T153959.htm"},
		{"../../etc/{time}", "_.._etc_20261123T153959"},
		{"a\"b\r\nc.html", "a_bc.html"},
		{"...", "securedoc_20261123T153959.html"},
	}
	for _, tt := range tests {
		if got := attachmentName(tt.pattern, now); got != tt.want {
			t.Errorf("attachmentName(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
	opt := testOptions()
	opt.AttachmentName = "secure_{time}.html"
	s := sealOK(t, testRequest(textMessage()), opt)
	if s.AttachmentName != "secure_20261123T153959.html" {
		t.Errorf("Sealed.AttachmentName = %q", s.AttachmentName)
	}
	if got := parseNotification(t, s).attName; got != s.AttachmentName {
		t.Errorf("attachment file name %q, want %q", got, s.AttachmentName)
	}

	// A non-ASCII pattern goes out RFC 2231-encoded and parses back.
	opt.AttachmentName = "sécure {time}.html"
	s = sealOK(t, testRequest(textMessage()), opt)
	if !strings.Contains(string(s.Body), "filename*=utf-8''s%C3%A9cure%2020261123T153959.html") {
		t.Error("non-ASCII file name is not RFC 2231-encoded")
	}
	if got := parseNotification(t, s).attName; got != "sécure 20261123T153959.html" {
		t.Errorf("non-ASCII attachment file name %q", got)
	}
}

// TestSealConcurrent seals in parallel with shared Options: run with -race
// to catch shared packet.Config state.
func TestSealConcurrent(t *testing.T) {
	opt := testOptions()
	opt.RecoveryKey = openpgp.EntityList{recoveryEntity(t)}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			s, err := Seal(testRequest(textMessage()), opt)
			if err == nil && len(s.Key) != KeySize {
				err = errors.New("bad key")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// The sealed envelope's payload digest is the SHA-256 of the OpenPGP
// message in the page, unarmoured — what the decryptor computes — for
// each profile; two seals of one message differ.
func TestPayloadDigest(t *testing.T) {
	for _, profile := range []string{ProfileRFC4880, ProfileRFC9580} {
		opt := testOptions()
		opt.Profile = profile
		s := sealOK(t, testRequest(textMessage()), opt)
		block, err := armor.Decode(strings.NewReader(payloadOf(t, parseNotification(t, s).page)))
		if err != nil {
			t.Fatal(err)
		}
		bin, err := io.ReadAll(block.Body)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(bin)
		if s.PayloadDigest != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: PayloadDigest %q; the page's payload hashes to %x", profile, s.PayloadDigest, sum)
		}
		if again := sealOK(t, testRequest(textMessage()), opt); again.PayloadDigest == s.PayloadDigest {
			t.Errorf("%s: two seals with one digest", profile)
		}
	}
}
