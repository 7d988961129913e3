package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/store"
	"github.com/postseal/postseal/store/pgtest"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"explain"}, {"envelope"}, {"envelope", "show"}, {"serve", "-x"}} {
		if code, _, _ := runCLI(t, "", args...); code != exitUsage {
			t.Errorf("postseal %v exited %d; want %d", args, code, exitUsage)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", "[organization]\nname = \"Clinic\"\n")
	code, out, errs := runCLI(t, "", "check-config", "-c", good)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `name = "Clinic"`) || !strings.Contains(out, `match = "*secure*"`) {
		t.Errorf("effective configuration not printed:\n%s", out)
	}
	bad := writeFile(t, dir, "bad.toml", "[organization]\nname = \"Clinic\"\ncolour = \"blue\"\n")
	code, _, errs = runCLI(t, "", "check-config", "-c", bad)
	if code != exitUsage || !strings.Contains(errs, bad+":3: organization.colour: unknown key") {
		t.Errorf("exit %d, stderr %q; want 2 and file:line", code, errs)
	}
	missingPW := writeFile(t, dir, "pw.toml", "[[domain]]\nname = \"partner.example\"\npassword_file = \"nope.pw\"\n")
	code, _, errs = runCLI(t, "", "check-config", "-c", missingPW)
	if code != exitUsage || !strings.Contains(errs, "nope.pw") {
		t.Errorf("exit %d, stderr %q; want 2 naming the missing password file", code, errs)
	}
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	msg := writeFile(t, dir, "m.eml", "From: doc@example.org\r\nTo: pat@ext.example\r\nSubject: ++ Lab results\r\n\r\nHello\r\n")
	code, out, errs := runCLI(t, "", "explain", "--from", "doc@example.org", "--to", "pat@ext.example,nurse@example.org", msg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Action, Trigger, Subject string
		Treatment                []struct {
			Treatment  string
			Recipients []string
		}
		Findings []any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Action != "seal" || got.Trigger != "plus-prefix" || got.Subject != "[SECURE MESSAGE] Lab results" {
		t.Errorf("explain = %+v", got)
	}
	if len(got.Treatment) != 2 || got.Treatment[0].Treatment != "clear" || got.Treatment[1].Treatment != "keyservice" || got.Treatment[1].Recipients[0] != "pat@ext.example" {
		t.Errorf("treatment = %+v", got.Treatment)
	}
	if got.Findings == nil {
		t.Error("findings must be an (empty) list")
	}
}

// seal stores the envelope and writes a message whose payload opens with
// the key that `envelope key` prints.
func TestSealAndEnvelopeCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[store]\ndsn = \"state/p.db\"\nmaster_key = \"state/master.key\"\n")
	in := "From: doc@example.org\r\nTo: pat@ext.example\r\nSubject: *secure* consult\r\nContent-Type: text/plain\r\n\r\nSecret body\r\n"
	code, out, errs := runCLI(t, in, "seal", "-c", cfg, "--from", "doc@example.org", "--to", "pat@ext.example")
	if code != exitOK {
		t.Fatalf("seal exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Subject: consult [-Encrypted-]\r\n") || strings.Contains(out, "Secret body") {
		t.Errorf("sealed output:\n%.500s", out)
	}
	code, list, errs := runCLI(t, "", "envelope", "list", "-c", cfg)
	if code != exitOK || !strings.Contains(list, "pat@ext.example") {
		t.Fatalf("envelope list exit %d: %s%s", code, list, errs)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if !strings.Contains(out, "X-Postseal-Envelope: "+id) {
		t.Errorf("sealed output does not carry envelope %s", id)
	}
	code, key, errs := runCLI(t, "", "envelope", "key", "-c", cfg, id)
	if code != exitOK || len(strings.TrimSpace(key)) != 43 {
		t.Fatalf("envelope key exit %d, key %q: %s", code, key, errs)
	}
	if !strings.Contains(errs, "message key disclosed") {
		t.Error("key disclosure is not logged")
	}
	if code, _, _ := runCLI(t, "", "envelope", "show", "-c", cfg, "doesnotexist"); code != exitRuntime {
		t.Errorf("show of a missing envelope exited %d", code)
	}
	// Untriggered mail comes out byte for byte.
	plain := "From: a@example.org\r\nSubject: lunch\r\n\r\nbody\r\n"
	code, out, _ = runCLI(t, plain, "seal", "-c", cfg, "--to", "pat@ext.example")
	if code != exitOK || out != plain {
		t.Errorf("untriggered seal: exit %d, output %q", code, out)
	}
}

func TestEnvelopeOptionsEitherSide(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[store]\ndsn = \"p.db\"\nmaster_key = \"master.key\"\n")
	in := "From: doc@example.org\r\nSubject: *secure* x\r\n\r\nbody\r\n"
	if code, _, errs := runCLI(t, in, "seal", "-c", cfg, "--to", "pat@ext.example"); code != exitOK {
		t.Fatal(errs)
	}
	for _, args := range [][]string{{"envelope", "-c", cfg, "list"}, {"envelope", "list", "-c", cfg}} {
		if code, out, errs := runCLI(t, "", args...); code != exitOK || !strings.Contains(out, "pat@ext.example") {
			t.Errorf("%v: exit %d %s%s", args, code, out, errs)
		}
	}
}

func TestExplainScanner(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[scanner]\nenabled = true\n")
	msg := writeFile(t, dir, "m.eml", "From: doc@example.org\r\nTo: pat@ext.example\r\nSubject: Claim\r\n\r\nPatient SSN: 536-22-1234\r\nCard: 4111 1111 1111 1111\r\n")
	code, out, errs := runCLI(t, "", "explain", "-c", cfg, "--from", "doc@example.org", "--to", "pat@ext.example", msg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Action, Trigger, Subject, Why string
		Findings                      []struct {
			Detector, Masked string
			Offset           int
			Score            float64
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Action != "seal" || got.Trigger != "scanner" || got.Subject != "Claim [-Encrypted-]" {
		t.Errorf("explain = %+v", got)
	}
	if len(got.Findings) != 2 || got.Findings[0].Detector != "us_ssn" || got.Findings[0].Masked != "***-**-1234" || got.Findings[1].Detector != "credit_card" || got.Findings[0].Score < 0.5 || got.Findings[1].Offset <= got.Findings[0].Offset {
		t.Errorf("findings = %+v", got.Findings)
	}
	if strings.Contains(out, "536-22") || strings.Contains(out, "4111 1111") {
		t.Errorf("explain printed a value:\n%s", out)
	}
	// With the scanner off the findings are still shown, but do not decide.
	code, out, _ = runCLI(t, "", "explain", "--from", "doc@example.org", "--to", "pat@ext.example", msg)
	if code != exitOK || !strings.Contains(out, `"action": "pass"`) || !strings.Contains(out, `"detector": "us_ssn"`) {
		t.Errorf("scanner off: exit %d\n%s", code, out)
	}
}

// lock, unlock and expire change what the key service may release, on
// either database, and each change is in the audit trail.
func TestEnvelopeAdminCommands(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			dir := t.TempDir()
			storeConf := "dsn = \"state/p.db\"\n"
			if driver == "postgres" {
				storeConf = "driver = \"postgres\"\ndsn = \"" + pgtest.DSN(t) + "\"\n"
			}
			cfg := writeFile(t, dir, "postseal.toml", "[store]\n"+storeConf+"master_key = \"state/master.key\"\n")
			if code, _, errs := runCLI(t, "", "init", "-c", cfg); code != exitOK {
				t.Fatalf("init: %s", errs)
			}
			in := "From: doc@example.org\r\nTo: pat@ext.example\r\nSubject: *secure* consult\r\n\r\nSecret body\r\n"
			if code, _, errs := runCLI(t, in, "seal", "-c", cfg, "--from", "doc@example.org", "--to", "pat@ext.example"); code != exitOK {
				t.Fatalf("seal: %s", errs)
			}
			_, list, _ := runCLI(t, "", "envelope", "list", "-c", cfg)
			lines := strings.Split(list, "\n")
			if len(lines) < 2 || !strings.Contains(lines[0], "STATE") || !strings.Contains(lines[1], " active ") {
				t.Fatalf("list:\n%s", list)
			}
			id := strings.Fields(lines[1])[0]
			show := func() (e struct {
				Locked bool `json:"locked"`
				HasKey bool `json:"has_key"`
			}) {
				t.Helper()
				code, out, errs := runCLI(t, "", "envelope", "show", "-c", cfg, id)
				if code != exitOK || json.Unmarshal([]byte(out), &e) != nil {
					t.Fatalf("show exit %d: %s%s", code, out, errs)
				}
				return e
			}
			if code, out, errs := runCLI(t, "", "envelope", "lock", "-c", cfg, id); code != exitOK || !strings.Contains(out, "locked") {
				t.Fatalf("lock exit %d: %s%s", code, out, errs)
			}
			if e := show(); !e.Locked || !e.HasKey {
				t.Errorf("after lock: %+v", e)
			}
			if _, list, _ := runCLI(t, "", "envelope", "list", "-c", cfg); !strings.Contains(list, " locked ") {
				t.Errorf("list does not show the lock:\n%s", list)
			}
			if code, _, errs := runCLI(t, "", "envelope", "unlock", "-c", cfg, id); code != exitOK {
				t.Fatalf("unlock exit %d: %s", code, errs)
			}
			if e := show(); e.Locked {
				t.Errorf("after unlock: %+v", e)
			}
			if code, key, errs := runCLI(t, "", "envelope", "key", "-c", cfg, id); code != exitOK || len(strings.TrimSpace(key)) != 43 {
				t.Fatalf("key exit %d: %s", code, errs)
			}
			if code, out, errs := runCLI(t, "", "envelope", "expire", "-c", cfg, id); code != exitOK || !strings.Contains(out, "key is destroyed") {
				t.Fatalf("expire exit %d: %s%s", code, out, errs)
			}
			if e := show(); e.HasKey {
				t.Errorf("after expire the key is still stored: %+v", e)
			}
			if code, out, _ := runCLI(t, "", "envelope", "key", "-c", cfg, id); code != exitRuntime || out != "" {
				t.Errorf("key of an expired envelope: exit %d, printed %q", code, out)
			}
			if _, list, _ := runCLI(t, "", "envelope", "list", "-c", cfg); !strings.Contains(list, " expired ") {
				t.Errorf("list does not show the expiry:\n%s", list)
			}
			for _, args := range [][]string{{"lock", "nope"}, {"unlock", "nope"}, {"expire", "nope"}} {
				if code, _, errs := runCLI(t, "", append([]string{"envelope", "-c", cfg}, args...)...); code != exitRuntime || !strings.Contains(errs, "not found") {
					t.Errorf("%v: exit %d, %s", args, code, errs)
				}
			}
			for _, args := range [][]string{{"lock"}, {"expire", "a", "b"}, {"destroy", id}} {
				if code, _, _ := runCLI(t, "", append([]string{"envelope", "-c", cfg}, args...)...); code != exitUsage {
					t.Errorf("%v: exit %d; want %d", args, code, exitUsage)
				}
			}
			c, err := config.Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st, err := openStore(context.Background(), c, false)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, kind := range []string{store.EventEnvelopeLocked, store.EventEnvelopeUnlocked, store.EventKeyDisclosed, store.EventEnvelopeExpired} {
				if n, err := st.CountEvents(context.Background(), store.EventFilter{Kind: kind, EnvelopeID: id}); err != nil || n != 1 {
					t.Errorf("%s events: %d, %v; want 1", kind, n, err)
				}
			}
		})
	}
}

// account disable, enable and reset change what the key service accepts,
// and each change is in the audit trail.
func TestAccountAdminCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[store]\ndsn = \"state/p.db\"\nmaster_key = \"state/master.key\"\n")
	if code, _, errs := runCLI(t, "", "init", "-c", cfg); code != exitOK {
		t.Fatalf("init: %s", errs)
	}
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	withStore := func(f func(store.Store)) {
		t.Helper()
		st, err := openStore(ctx, c, false)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		f(st)
	}
	withStore(func(st store.Store) {
		if err := st.CreateAccount(ctx, store.Account{Email: "pat@ext.example", FirstName: "Pat", LastName: "Ext", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Active: true, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	})
	state := func() string {
		t.Helper()
		code, out, errs := runCLI(t, "", "account", "list", "-c", cfg)
		if code != exitOK || !strings.HasPrefix(out, "EMAIL") || !strings.Contains(out, "pat@ext.example") || !strings.Contains(out, "Pat Ext") {
			t.Fatalf("list exit %d: %s%s", code, out, errs)
		}
		for _, s := range []string{"disabled", "reset", "not activated", "active"} {
			if strings.Contains(out, "  "+s+"  ") {
				return s
			}
		}
		return out
	}
	if s := state(); s != "active" {
		t.Fatalf("state %q", s)
	}
	// A reply token taken before a disable or a reset sends nothing after
	// it: the key service would refuse it anyway, this drops it for good.
	for i, step := range []struct {
		sub, want    string
		tokenDropped bool
	}{{"disable", "disabled", true}, {"enable", "active", false}, {"reset", "reset", true}} {
		hash := []byte{byte(i), 1, 2, 3}
		withStore(func(st store.Store) {
			if err := st.PutToken(ctx, store.Token{Hash: hash, Purpose: store.TokenReply, Email: "pat@ext.example", EnvelopeID: "env1", Uses: 5, Expires: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		})
		if code, out, errs := runCLI(t, "", "account", step.sub, "-c", cfg, "Pat@Ext.Example"); code != exitOK || !strings.Contains(out, "pat@ext.example") {
			t.Fatalf("account %s: exit %d: %s%s", step.sub, code, out, errs)
		}
		if s := state(); s != step.want {
			t.Errorf("after %s: state %q, want %q", step.sub, s, step.want)
		}
		withStore(func(st store.Store) {
			_, err := st.Token(ctx, hash, store.TokenReply, time.Now())
			if dropped := errors.Is(err, store.ErrNotFound); dropped != step.tokenDropped {
				t.Errorf("after %s: reply token dropped %v (%v); want %v", step.sub, dropped, err, step.tokenDropped)
			}
		})
	}
	if code, _, errs := runCLI(t, "", "account", "disable", "-c", cfg, "nobody@ext.example"); code != exitRuntime || !strings.Contains(errs, "no account for nobody@ext.example") {
		t.Errorf("unknown address: exit %d, %s", code, errs)
	}
	for _, args := range [][]string{{}, {"disable"}, {"purge", "pat@ext.example"}, {"list", "x"}} {
		if code, _, _ := runCLI(t, "", append([]string{"account", "-c", cfg}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d; want %d", args, code, exitUsage)
		}
	}
	withStore(func(st store.Store) {
		a, err := st.Account(ctx, "pat@ext.example")
		if err != nil || a.PasswordHash != "" || a.Disabled {
			t.Errorf("account after reset: %+v, %v", a, err)
		}
		for _, kind := range []string{store.EventAccountDisabled, store.EventAccountEnabled, store.EventAccountReset} {
			if n, err := st.CountEvents(ctx, store.EventFilter{Kind: kind, Email: "pat@ext.example"}); err != nil || n != 1 {
				t.Errorf("%s events: %d, %v; want 1", kind, n, err)
			}
		}
	})
}

// postseal domain password NAME prints a fresh shared password the
// policy accepts; --write puts it in the domain's password_file (0600).
func TestDomainPassword(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.toml", "[[domain]]\nname = \"partner.example\"\npassword_file = \"partner.pw\"\n")
	code, out, errs := runCLI(t, "", "domain", "password", "partner.example")
	pw := strings.TrimSpace(out)
	if code != exitOK || !regexp.MustCompile(`^[a-z2-7]{4}(-[a-z2-7]{4}){5}$`).MatchString(pw) {
		t.Fatalf("domain password: %d %q %s", code, out, errs)
	}
	if _, again, _ := runCLI(t, "", "domain", "password", "partner.example"); strings.TrimSpace(again) == pw {
		t.Error("the same password twice")
	}
	code, out, errs = runCLI(t, "", "domain", "-c", cfg, "--write", "password", "partner.example")
	if code != exitOK {
		t.Fatalf("--write: %d %s", code, errs)
	}
	file := filepath.Join(dir, "partner.pw")
	b, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(b)) != strings.TrimSpace(out) {
		t.Fatalf("password_file %q (%v); printed %q", b, err, out)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("password_file mode %v", fi.Mode().Perm())
	}
	if code, _, errs := runCLI(t, "", "check-config", "-c", cfg); code != exitOK {
		t.Errorf("check-config with the written password: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "", "domain", "-c", cfg, "--write", "password", "other.example"); code != exitUsage {
		t.Errorf("--write for an unknown domain: %d; want %d", code, exitUsage)
	}
}
