package policy

import (
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
