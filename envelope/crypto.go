package envelope

import (
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

// profile is what an Options.Profile name means for the packets written.
type profile struct {
	name string
	// aead selects SKESK v6/PKESK v6 + SEIPD v2 (AES-256-GCM) over
	// SKESK v4/PKESK v3 + SEIPD v1.
	aead bool
}

func profileOf(name string) (profile, error) {
	switch name {
	case "", ProfileRFC4880:
		return profile{name: ProfileRFC4880}, nil
	case ProfileRFC9580:
		return profile{name: ProfileRFC9580, aead: true}, nil
	}
	return profile{}, fmt.Errorf("unknown profile %q (want %q or %q)", name, ProfileRFC4880, ProfileRFC9580)
}

// S2K costs. A message key is 256 random bits: stretching it buys nothing,
// so it gets the cheapest iterated+salted count (mode 3 is the one S2K every
// reader has, GnuPG 2.2 and OpenPGP.js alike; salted-only S2K would be
// cheaper still but is a "high-entropy only" special case some readers
// refuse). A partner's shared password is human-chosen and its envelope can
// be attacked offline, so it gets the strongest stretching the profile's
// readers support: the maximum iteration count for rfc4880 (GnuPG), Argon2id
// with go-crypto's defaults (64 MiB, 3 passes, 4 lanes; OpenPGP.js uses the
// same) for rfc9580. Argon2 costs ~64 MiB per call: callers bound how many
// password seals run at once.
const (
	keyS2KCount      = 65536
	passwordS2KCount = 65011712
)

type encryptParams struct {
	profile    profile
	passphrase []byte
	// human marks a human-chosen passphrase (see the S2K costs above).
	human    bool
	recovery openpgp.EntityList
	now      time.Time
	// compress: DEFLATE inside the encryption (see compress.go).
	compress bool
	// size is the message's length when known (0 otherwise): a large
	// one is compressed in parallel.
	size int64
	// digest, when set, receives the unarmoured OpenPGP message.
	digest io.Writer
}

// packetConfig builds a fresh Config per message: s2k.Generate writes into
// the S2K config, so sharing one between goroutines is a data race.
func packetConfig(p encryptParams) *packet.Config {
	cfg := &packet.Config{
		Rand:          rand.Reader,
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return p.now },
	}
	s2kc := &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: keyS2KCount}
	if p.human {
		s2kc.S2KCount = passwordS2KCount
		if p.profile.aead {
			s2kc = &s2k.Config{S2KMode: s2k.Argon2S2K}
		}
	}
	cfg.S2KConfig = s2kc
	if p.profile.aead {
		// Never OCB: the browser decryptor gets GCM from WebCrypto, while
		// OCB runs in pure JS about ten times slower.
		cfg.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeGCM}
	}
	return cfg
}

// encrypt writes the armoured OpenPGP message of src to w. The packets are
// assembled here rather than by openpgp.Encrypt, because Encrypt negotiates
// cipher and AEAD mode from the recipients' key preferences: a recovery key
// could otherwise silently move an envelope off the profile (to AES-128 or
// OCB, or off SEIPD v2), and no go-crypto v1 call combines a passphrase with
// public keys. The message streams through the layers (literal, ZIP when
// p.compress, encryption, armour) into w: none holds more than a chunk,
// but for a large message's parallel compression, a few blocks.
func encrypt(w io.Writer, src io.Reader, p encryptParams) (err error) {
	cfg := packetConfig(p)
	suite := packet.CipherSuite{Cipher: packet.CipherAES256, Mode: cfg.AEAD().Mode()}

	// The armour holds no line end of its own but those it writes: into
	// the notification's CRLF writer it writes CRLF past it.
	out, eol := w, "\n"
	if c, ok := w.(*crlfWriter); ok {
		out, eol = c.w, "\r\n"
	}
	// RFC 9580 drops the CRC24 armour checksum; GnuPG 2.2 still wants it.
	arm, err := newArmorWriter(out, eol, !p.profile.aead)
	if err != nil {
		return fmt.Errorf("armour: %w", err)
	}

	var bin io.Writer = arm
	if p.digest != nil {
		bin = io.MultiWriter(arm, p.digest)
	}

	sessionKey := make([]byte, suite.Cipher.KeySize())
	if _, err := rand.Read(sessionKey); err != nil {
		return fmt.Errorf("session key: %w", err)
	}
	defer clear(sessionKey)

	if err := writeKeyPackets(bin, sessionKey, p, cfg); err != nil {
		return err
	}
	var seipd io.WriteCloser
	if p.profile.aead {
		seipd, err = packet.SerializeSymmetricallyEncrypted(bin, suite.Cipher, true, suite, sessionKey, cfg)
	} else {
		seipd, err = newSEIPDv1(bin, sessionKey, cfg.Random())
	}
	if err != nil {
		return fmt.Errorf("encrypted data packet: %w", err)
	}
	inner := seipd
	if p.compress {
		c, err := compressedPacket(seipd, p.size)
		if err != nil {
			return fmt.Errorf("compressed packet: %w", err)
		}
		// After an error the compression's workers must still end.
		defer c.abort()
		inner = c
	}
	literal, err := packet.SerializeLiteral(inner, true, "message.eml", uint32(p.now.Unix()))
	if err != nil {
		return fmt.Errorf("literal packet: %w", err)
	}
	if err := copyChunked(literal, src); err != nil {
		return fmt.Errorf("read original: %w", err)
	}
	// Closing the literal writer closes the compressed and encrypted
	// layers beneath it (each Close finishes its own packet).
	if err := literal.Close(); err != nil {
		return fmt.Errorf("finish message: %w", err)
	}
	if err := arm.Close(); err != nil {
		return fmt.Errorf("finish armour: %w", err)
	}
	return nil
}

// writeKeyPackets writes one SKESK for the passphrase and one PKESK per
// recovery key, all wrapping the same session key.
func writeKeyPackets(w io.Writer, sessionKey []byte, p encryptParams, cfg *packet.Config) error {
	if err := packet.SerializeSymmetricKeyEncryptedAEADReuseKey(w, sessionKey, p.passphrase, p.profile.aead, cfg); err != nil {
		return fmt.Errorf("passphrase packet: %w", err)
	}
	for _, e := range p.recovery {
		k, ok := e.EncryptionKey(p.now)
		if !ok {
			return fmt.Errorf("recovery key %X has no valid encryption key", e.PrimaryKey.Fingerprint)
		}
		if err := packet.SerializeEncryptedKeyAEAD(w, k.PublicKey, packet.CipherAES256, p.profile.aead, sessionKey, cfg); err != nil {
			return fmt.Errorf("recovery key %X: %w", e.PrimaryKey.Fingerprint, err)
		}
	}
	return nil
}

// copyChunked copies in 32 KiB writes. io.Copy would hand a bytes.Reader's
// whole content to one Write, and go-crypto's layers then allocate
// several copies of it.
func copyChunked(dst io.Writer, src io.Reader) error {
	buf := getBuf(32 << 10)
	defer putBuf(buf)
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
	return err
}
