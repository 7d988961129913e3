package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
)

func TestMissingPasswordFileIsLoadError(t *testing.T) {
	cfg := config.Default()
	cfg.Domains = []config.Domain{{Name: "partner.example", PasswordFile: "/nonexistent/pw"}}
	if _, err := Load(cfg); err == nil || !strings.Contains(err.Error(), "/nonexistent/pw") {
		t.Errorf("Load = %v; want an error naming the file", err)
	}
}

func TestVisibleRecipientsHideBcc(t *testing.T) {
	d := envelope.Display{To: "Pat <Pat@Ext.example>", Cc: "sam@other.example"}
	got := visible([]string{"pat@ext.example", "sam@other.example", "hidden@bcc.example"}, d)
	if strings.Join(got, ",") != "pat@ext.example,sam@other.example" {
		t.Errorf("visible = %v; a Bcc'd address must not be listed", got)
	}
}

// A partner's shared password is attacked offline by whoever holds the
// securedoc: fewer than 16 characters is a load error naming the file
// and the command that makes a good one.
func TestSharedPasswordLength(t *testing.T) {
	for pw, ok := range map[string]bool{"fifteen-chars!!": false, "sixteen-chars!!!": true, "tiny": false} {
		file := filepath.Join(t.TempDir(), "partner.pw")
		if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Domains = []config.Domain{{Name: "partner.example", PasswordFile: file}}
		_, err := Load(cfg)
		if ok && err != nil {
			t.Errorf("%d characters: %v", len(pw), err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "postseal domain password partner.example")) {
			t.Errorf("%d characters: %v; want a refusal naming the file and the command", len(pw), err)
		}
	}
}
