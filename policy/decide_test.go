package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
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

func TestReplySubject(t *testing.T) {
	cfg := config.Default()
	for _, c := range []struct{ prefix, in, want string }{
		{"Re", "*secure* Lab results", "Re: Lab results"},
		{"Re", "Lab results [-Encrypted-]", "Re: Lab results"},
		{"Re", "re: Lab results [-Encrypted-]", "Re: Lab results"},
		{"Re", "++ Lab results", "Re: Lab results"},
		{"Re", "[SECURE MESSAGE] Lab  results", "Re: Lab results"},
		{"Fwd", "Re: Lab results [-Encrypted-]", "Fwd: Re: Lab results"},
		{"Re", "", "Re:"},
	} {
		if got := ReplySubject(cfg, c.prefix, c.in); got != c.want {
			t.Errorf("ReplySubject(%s, %q) = %q; want %q", c.prefix, c.in, got, c.want)
		}
	}
}

func TestSealedEnvelopeReplyRights(t *testing.T) {
	o := &Options{Reply: []config.ReplyKind{config.ReplyToSender, config.ReplyForward}}
	if got := replyRights(Group{Treatment: KeyService, Options: o}); strings.Join(got, ",") != "reply,forward" {
		t.Errorf("key service envelope rights = %v", got)
	}
	if got := replyRights(Group{Treatment: SharedPassword, Options: o}); got == nil || len(got) != 0 {
		t.Errorf("a partner envelope's rights = %#v; want none (recorded as empty)", got)
	}
	got := named(envelope.Display{To: "Pat <Pat@Ext.example>, nurse@example.org", Cc: "sam@other.example"})
	if strings.Join(got, ",") != "pat@ext.example,nurse@example.org,sam@other.example" {
		t.Errorf("Reply all list = %v", got)
	}
}

// TestDecideReplyNoForward: an envelope a secure reply or forward creates
// never grants Forward again, whatever [reply] allow says, so one
// recipient cannot chain forwards into unlimited organisation mail.
func TestDecideReplyNoForward(t *testing.T) {
	cfg := config.Default()
	cfg.Reply.Allow = []config.ReplyKind{config.ReplyToSender, config.ReplyToAll, config.ReplyForward}
	d := DecideReply(cfg, []string{"pat@ext.example"}, "Fwd: Lab results")
	if len(d.Groups) != 1 || d.Groups[0].Options == nil {
		t.Fatalf("forward to one external: %+v", d)
	}
	got := d.Groups[0].Options.Reply
	if slices.Contains(got, config.ReplyForward) || !slices.Contains(got, config.ReplyToSender) {
		t.Errorf("reply envelope's kinds = %v; want reply kinds without forward", got)
	}
	if !slices.Contains(cfg.Reply.Allow, config.ReplyForward) {
		t.Errorf("DecideReply changed the configuration: %v", cfg.Reply.Allow)
	}
}
