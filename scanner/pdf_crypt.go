package scanner

// PDF encryption (the Standard security handler, ISO 32000-2 §7.6.4).
// Many PDFs are encrypted with an empty user password: anyone can open
// them, the owner password only restricts printing or copying. Those are
// decrypted and read like any other; only a PDF that asks for a password
// to open is unreadable.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
)

type pdfCrypt struct {
	key    []byte
	stmAES bool // AES for streams (else RC4)
	strAES bool
	v5     bool // AES-256: the file key is used as it is
	idStm  bool // streams not encrypted (Identity crypt filter)
	idStr  bool
}

// padding is the password padding string of the Standard handler.
var padding = []byte("\x28\xBF\x4E\x5E\x4E\x75\x8A\x41\x64\x00\x4E\x56\xFF\xFA\x01\x08\x2E\x2E\x00\xB6\xD0\x68\x3E\x80\x2F\x0C\xA9\xFE\x64\x53\x69\x7A")

func (d *pdfDoc) newCrypt(enc pdfDict) (*pdfCrypt, error) {
	if enc == nil || enc["Filter"] != pdfName("Standard") {
		return nil, errPDFEncrypted // a certificate or third-party handler
	}
	v, _ := d.resolveInt(enc["V"])
	r, _ := d.resolveInt(enc["R"])
	o, _ := d.resolve(enc["O"]).(pdfString)
	u, _ := d.resolve(enc["U"]).(pdfString)
	p, _ := d.resolveInt(enc["P"])
	c := &pdfCrypt{}
	// Crypt filters (V4, V5) say which cipher strings and streams use.
	cfm := func(name any) (aes, identity bool) {
		n, _ := d.resolve(name).(pdfName)
		if n == "" || n == "Identity" {
			return false, n == "Identity"
		}
		cf := d.resolveDict(d.resolveDict(enc["CF"])[n])
		m, _ := d.resolve(cf["CFM"]).(pdfName)
		return m == "AESV2" || m == "AESV3", m == "None"
	}
	if v >= 4 {
		c.stmAES, c.idStm = cfm(enc["StmF"])
		c.strAES, c.idStr = cfm(enc["StrF"])
		if _, ok := enc["StmF"]; !ok {
			c.idStm = true
		}
		if _, ok := enc["StrF"]; !ok {
			c.idStr = true
		}
	}
	if r >= 5 {
		// AES-256 (R5 from the Adobe extension, R6 in PDF 2.0).
		ue, _ := d.resolve(enc["UE"]).(pdfString)
		if len(u) < 48 || len(ue) < 32 {
			return nil, errPDFEncrypted
		}
		hashFn := func(salt []byte) []byte {
			if r == 5 {
				h := sha256.Sum256(salt)
				return h[:]
			}
			return hash2B(nil, salt, nil)
		}
		if !bytes.Equal(hashFn(u[32:40]), u[:32]) {
			return nil, errPDFEncrypted
		}
		ik := hashFn(u[40:48])
		blk, err := aes.NewCipher(ik)
		if err != nil {
			return nil, errPDFEncrypted
		}
		key := make([]byte, 32)
		cipher.NewCBCDecrypter(blk, make([]byte, 16)).CryptBlocks(key, ue[:32])
		c.key, c.v5 = key, true
		c.stmAES, c.strAES = true, true
		return c, nil
	}
	// RC4 and AES-128 (R2–R4): the key from the empty password.
	n := 5
	if r >= 3 {
		if l, ok := d.resolveInt(enc["Length"]); ok && l >= 40 && l <= 128 && l%8 == 0 {
			n = l / 8
		} else {
			n = 16
		}
	}
	var id0 []byte
	if ids, ok := d.resolve(d.trailer["ID"]).(pdfArray); ok && len(ids) > 0 {
		id0, _ = d.resolve(ids[0]).(pdfString)
	}
	h := md5.New()
	h.Write(padding)
	h.Write(o)
	var pb [4]byte
	binary.LittleEndian.PutUint32(pb[:], uint32(int32(p)))
	h.Write(pb[:])
	h.Write(id0)
	if em, ok := d.resolve(enc["EncryptMetadata"]).(bool); r >= 4 && ok && !em {
		h.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	}
	key := h.Sum(nil)
	if r >= 3 {
		for range 50 {
			s := md5.Sum(key[:n])
			key = s[:]
		}
	}
	key = key[:n]
	// Check the key against /U: a wrong key means a user password is set.
	if r == 2 {
		got := rc4crypt(key, padding)
		if !bytes.Equal(got, u[:min(len(u), 32)]) {
			return nil, errPDFEncrypted
		}
	} else {
		s := md5.New()
		s.Write(padding)
		s.Write(id0)
		got := s.Sum(nil)
		for i := 0; i < 20; i++ {
			k := make([]byte, len(key))
			for j := range key {
				k[j] = key[j] ^ byte(i)
			}
			got = rc4crypt(k, got)
		}
		if len(u) < 16 || !bytes.Equal(got[:16], u[:16]) {
			return nil, errPDFEncrypted
		}
	}
	c.key = key
	return c, nil
}

// hash2B is the hash of ISO 32000-2 algorithm 2.B (R6).
func hash2B(pw, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	for i := 0; ; i++ {
		k1 := bytes.Repeat(append(append(append([]byte{}, pw...), k...), udata...), 64)
		blk, _ := aes.NewCipher(k[:16])
		e := make([]byte, len(k1))
		cipher.NewCBCEncrypter(blk, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, x := range e[:16] {
			sum += int(x)
		}
		var hh hash.Hash
		switch sum % 3 {
		case 0:
			hh = sha256.New()
		case 1:
			hh = sha512.New384()
		default:
			hh = sha512.New()
		}
		hh.Write(e)
		k = hh.Sum(nil)
		if i >= 63 && int(e[len(e)-1]) <= i-31 {
			break
		}
	}
	return k[:32]
}

func rc4crypt(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// objectKey is the key for one object's strings and streams.
func (c *pdfCrypt) objectKey(ref pdfRef, useAES bool) []byte {
	if c.v5 {
		return c.key
	}
	h := md5.New()
	h.Write(c.key)
	h.Write([]byte{byte(ref.num), byte(ref.num >> 8), byte(ref.num >> 16), byte(ref.gen), byte(ref.gen >> 8)})
	if useAES {
		h.Write([]byte("sAlT"))
	}
	return h.Sum(nil)[:min(len(c.key)+5, 16)]
}

func (c *pdfCrypt) decryptBytes(ref pdfRef, useAES bool, b []byte) []byte {
	key := c.objectKey(ref, useAES)
	if !useAES {
		return rc4crypt(key, b)
	}
	if len(b) < 32 || len(b)%16 != 0 {
		return nil
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, len(b)-16)
	cipher.NewCBCDecrypter(blk, b[:16]).CryptBlocks(out, b[16:])
	if p := int(out[len(out)-1]); p >= 1 && p <= 16 && p <= len(out) {
		out = out[:len(out)-p]
	}
	return out
}

// decrypt returns obj with its strings (and a stream's data) decrypted.
// Cross-reference streams are never encrypted.
func (d *pdfDoc) decrypt(obj any, ref pdfRef) any {
	c := d.crypt
	if c == nil {
		return obj
	}
	var walk func(v any, depth int) any
	walk = func(v any, depth int) any {
		if depth > maxPDFNesting {
			return v
		}
		switch x := v.(type) {
		case pdfString:
			if c.idStr {
				return x
			}
			return pdfString(c.decryptBytes(ref, c.strAES, x))
		case pdfArray:
			out := make(pdfArray, len(x))
			for i, y := range x {
				out[i] = walk(y, depth+1)
			}
			return out
		case pdfDict:
			out := make(pdfDict, len(x))
			for k, y := range x {
				out[k] = walk(y, depth+1)
			}
			return out
		}
		return v
	}
	if s, ok := obj.(*pdfStream); ok {
		if s.dict["Type"] == pdfName("XRef") {
			return s
		}
		raw := s.raw
		if !c.idStm && !hasCryptFilter(s.dict) {
			raw = c.decryptBytes(ref, c.stmAES, raw)
		}
		return &pdfStream{dict: walk(s.dict, 0).(pdfDict), raw: raw, ref: s.ref}
	}
	return walk(obj, 0)
}

// hasCryptFilter: a stream naming its own Crypt filter (Identity) is left.
func hasCryptFilter(dict pdfDict) bool {
	switch f := dict["Filter"].(type) {
	case pdfName:
		return f == "Crypt"
	case pdfArray:
		for _, x := range f {
			if x == pdfName("Crypt") {
				return true
			}
		}
	}
	return false
}
