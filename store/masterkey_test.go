package store

import (
	"strings"
	"testing"
)

// A wrapped key too short to hold the version and the nonce is refused as
// of an unknown format, not read past its end.
func TestMasterKeyUnwrapShort(t *testing.T) {
	k := testKey(t)
	for _, w := range [][]byte{nil, {wrapVersion}, append([]byte{wrapVersion}, make([]byte, k.aead.NonceSize()-1)...)} {
		key, err := k.Unwrap("env", w)
		if err == nil || !strings.Contains(err.Error(), "unknown format") {
			t.Errorf("Unwrap of %d octets: %x, %v; want an unknown format", len(w), key, err)
		}
	}
}
