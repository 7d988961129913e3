package keyserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2 holds the Argon2id cost parameters. The defaults are OWASP's first
// recommended set (m=19 MiB, t=2, p=1): about the cost that keeps a key
// service on a small machine answering while making offline guessing of a
// stolen database slow.
type Argon2 struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's m=19 MiB, t=2, p=1.
var DefaultArgon2 = Argon2{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
)

var b64 = base64.RawStdEncoding

// hasher computes Argon2id hashes with bounded concurrency: each computation
// holds MemoryKiB of RAM, so 50 simultaneous logins at 19 MiB would take
// nearly 1 GiB. Callers past the bound wait (or give up with their request).
type hasher struct {
	params Argon2
	sem    chan struct{}
	dummy  string // a hash of a random password: verified when there is no account
	// verifies counts Verify calls; tests use it to show that every refusal
	// path costs exactly one verification (timing parity without timing).
	verifies atomic.Int64
}

func newHasher(p Argon2, concurrency int) (*hasher, error) {
	if p.MemoryKiB < 8 || p.Time < 1 || p.Threads < 1 {
		return nil, fmt.Errorf("argon2 parameters m=%d KiB t=%d p=%d: too small", p.MemoryKiB, p.Time, p.Threads)
	}
	if concurrency < 1 {
		concurrency = 1
	}
	h := &hasher{params: p, sem: make(chan struct{}, concurrency)}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	d, err := h.Hash(context.Background(), string(secret))
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

// hashWait bounds the wait for a hashing slot: past it the request gets
// an "unavailable" answer rather than holding its connection for minutes.
const hashWait = 30 * time.Second

func (h *hasher) acquire(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.sem }

// Hash returns the PHC string of a new Argon2id hash of password:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH (unpadded standard base64), the
// form libsodium, PHP and the argon2 CLI use, so hashes stay portable.
func (h *hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(h.params, password)
}

// HashPassword returns the PHC string of a new Argon2id hash with the given
// parameters (for tools that create accounts outside the service, such as
// the bench; the service itself bounds concurrent computations).
func HashPassword(p Argon2, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, hashLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify checks password against an encoded hash; an empty or malformed
// encoded hash is checked against the dummy hash instead, so the caller's
// time does not depend on whether an account exists. It returns false,
// never an error, for a wrong password; an error only when the wait for a
// hashing slot was abandoned.
func (h *hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	h.verifies.Add(1)
	real := true
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		real = false
		p, salt, want, _ = parsePHC(h.dummy)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1 && real, nil
}

// NeedsRehash reports whether an encoded hash was made with other
// parameters than the ones in force (they were raised since).
func (h *hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := parsePHC(encoded)
	return err != nil || p != h.params
}

var errPHC = errors.New("not an argon2id PHC string")

func parsePHC(s string) (p Argon2, salt, sum []byte, err error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errPHC
	}
	for _, kv := range strings.Split(f[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(v, 10, 32)
		if !ok || perr != nil {
			return p, nil, nil, errPHC
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errPHC
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errPHC
		}
	}
	// Bounds keep a tampered database row from costing unbounded memory.
	if p.MemoryKiB < 8 || p.MemoryKiB > 4<<20 || p.Time < 1 || p.Time > 100 || p.Threads < 1 {
		return p, nil, nil, errPHC
	}
	if salt, err = b64.DecodeString(f[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errPHC
	}
	if sum, err = b64.DecodeString(f[5]); err != nil || len(sum) < 16 || len(sum) > 64 {
		return p, nil, nil, errPHC
	}
	return p, salt, sum, nil
}
