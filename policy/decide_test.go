package policy

import (
	"testing"

	"github.com/postseal/postseal/config"
)

func TestDecideReply(t *testing.T) {
	cfg := config.Default()
	d := DecideReply(cfg, []string{"doc@example.org", "pat@ext.example"}, "Re: Lab results")
	if d.Action != Seal || len(d.Groups) != 2 || d.Groups[0].Treatment != Clear || d.Groups[1].Treatment != KeyService {
		t.Fatalf("reply to one internal and one external: %+v", d)
	}
	if d.Groups[1].Subject != "Re: Lab results [-Encrypted-]" || d.Groups[1].Trigger != ReplyTrigger {
		t.Errorf("sealed reply copy: %+v", d.Groups[1])
	}
	if d := DecideReply(cfg, []string{"doc@example.org"}, "Re: x [-Encrypted-]"); d.Action != Pass || d.Groups[0].Treatment != Clear {
		t.Errorf("internal-only reply: %+v", d)
	}
}
