package config

import (
	"net/netip"
	"reflect"
	"testing"
)

// An error shows its place as "file:line: key: message", and without the
// line when it has none.
func TestErrorText(t *testing.T) {
	for e, want := range map[*Error]string{
		{File: "p.toml", Line: 2, Key: "milter.listen", Msg: "bad"}: "p.toml:2: milter.listen: bad",
		{File: "p.toml", Key: "milter.listen", Msg: "bad"}:          "p.toml: milter.listen: bad",
		{Key: "milter.listen", Msg: "bad"}:                          "milter.listen: bad",
	} {
		if got := e.Error(); got != want {
			t.Errorf("%+v: %q; want %q", *e, got, want)
		}
	}
}

// The embedded scanner limit is the documented "100MB", and GB counts in
// thousands like MB and kB.
func TestDefaultScanLimitAndGigabytes(t *testing.T) {
	if got := Default().Scanner.MaxSize; got != 100_000_000 {
		t.Errorf("default [scanner] max_size = %d; want 100MB", got)
	}
	if got, err := ParseSize("2GB"); err != nil || got != 2_000_000_000 {
		t.Errorf("ParseSize(2GB) = %d, %v; want 2000000000", got, err)
	}
}

// trusted_proxies are returned as prefixes: an address as its own /32 or
// /128, a CIDR prefix masked.
func TestTrustedProxyPrefixes(t *testing.T) {
	k := Keyserver{TrustedProxies: []string{"192.0.2.7", "10.1.2.3/8", "2001:db8::1"}}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/128")}
	if got := k.Proxies(); !reflect.DeepEqual(got, want) {
		t.Errorf("Proxies() = %v; want %v", got, want)
	}
}

// Which addresses are the organisation's, which partner they belong to,
// and the domain they name.
func TestAddressHelpers(t *testing.T) {
	c := Default()
	c.Domains = []Domain{{Name: " Partner.Example ", PasswordFile: "p"}}
	for addr, want := range map[string]bool{
		"postmaster":                 true, // local to the MTA
		"<a@Example.ORG>":            true,
		"a@mail.example.org":         true,
		"a@gmail.com":                false,
		"user%gmail.com@example.org": false,
		"gmail.com!user":             false,
		"@example.org":               true, // an empty local part routes nowhere
	} {
		if got := c.IsInternal(addr); got != want {
			t.Errorf("IsInternal(%q) = %v; want %v", addr, got, want)
		}
	}
	for addr, want := range map[string]string{"a@Example.ORG.": "example.org", "@example.org": "example.org", "postmaster": ""} {
		if got := AddrDomain(addr); got != want {
			t.Errorf("AddrDomain(%q) = %q; want %q", addr, got, want)
		}
	}
	for addr, want := range map[string]string{"b@PARTNER.example": "partner.example", "b@other.example": "", "b@sub.partner.example": ""} {
		if got := c.Partner(addr); got != want {
			t.Errorf("Partner(%q) = %q; want %q", addr, got, want)
		}
	}
}

// A trigger's conditions: a tag when it has a match, and a sender or
// recipient condition that holds for every address when it has none.
func TestTriggerConditions(t *testing.T) {
	tag := Trigger{Match: "++"}
	who := Trigger{Senders: []string{"*@oncology.example.org"}, Recipients: []string{"*@lab.example"}}
	if !tag.HasTag() || who.HasTag() {
		t.Errorf("HasTag: %v with match, %v without; want true, false", tag.HasTag(), who.HasTag())
	}
	if !tag.MatchSender("a@x.example") || !tag.MatchRecipient("b@y.example") {
		t.Error("a trigger without senders or recipients does not apply to every address")
	}
	if !who.MatchSender("Dr@Oncology.example.org") || who.MatchSender("a@x.example") {
		t.Error("the sender condition does not pick the oncology senders only")
	}
	if !who.MatchRecipient("<b@lab.example>") || who.MatchRecipient("b@y.example") {
		t.Error("the recipient condition does not pick the lab recipients only")
	}
}
