package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKey wraps message keys at rest (AES-256-GCM, the envelope id as
// associated data so a wrapped key cannot be moved to another envelope).
type MasterKey struct {
	aead cipher.AEAD
	id   string // a check value stored with the database, not the key
	// audit signs the audit log's prune checkpoints: whoever holds only
	// the database cannot forge one to hide deleted events.
	audit []byte
}

const wrapVersion = 1

// LoadMasterKey reads the master key file, creating it (0600, in a 0700
// folder) when create is true and it does not exist. A file that others can
// read is refused: it opens every envelope.
func LoadMasterKey(path string, create bool) (*MasterKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		data, err = createMasterKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key %s: mode %04o lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("master key %s: not a base64 32-byte key", path)
	}
	return newMasterKey(raw)
}

func newMasterKey(raw []byte) (*MasterKey, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("postseal master key check v1"))
	audit := hmac.New(sha256.New, raw)
	audit.Write([]byte("postseal audit signing v1"))
	return &MasterKey{aead: aead, id: hex.EncodeToString(mac.Sum(nil)[:16]), audit: audit.Sum(nil)}, nil
}

// createMasterKey writes a new key without ever replacing an existing file
// (a replaced master key loses every envelope): write a temporary file, sync
// it, then hard-link it into place, which fails if the name exists.
func createMasterKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	data := []byte(base64.StdEncoding.EncodeToString(raw) + "\n")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path)
		}
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return data, nil
}

// ID is a check value that identifies the key without revealing it.
func (m *MasterKey) ID() string { return m.id }

// Wrap encrypts a message key for envelope id.
func (m *MasterKey) Wrap(id string, key []byte) ([]byte, error) {
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{wrapVersion}, nonce...)
	return m.aead.Seal(out, nonce, key, []byte(id)), nil
}

// Unwrap decrypts a key wrapped for envelope id.
func (m *MasterKey) Unwrap(id string, wrapped []byte) ([]byte, error) {
	ns := m.aead.NonceSize()
	if len(wrapped) < 1+ns || wrapped[0] != wrapVersion {
		return nil, fmt.Errorf("unwrap key of %s: unknown format", id)
	}
	key, err := m.aead.Open(nil, wrapped[1:1+ns], wrapped[1+ns:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("unwrap key of %s: %w", id, err)
	}
	return key, nil
}

// signAudit is the MAC of an audit record under a key derived from the
// master key.
func (m *MasterKey) signAudit(data []byte) []byte {
	mac := hmac.New(sha256.New, m.audit)
	mac.Write(data)
	return mac.Sum(nil)
}
