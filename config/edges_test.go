package config

import (
	"strings"
	"testing"
)

// Each checked setting at its last accepted and first refused value: the
// refusal names the key, the accepted value loads.
func TestSettingEdges(t *testing.T) {
	for _, c := range []struct {
		body, key string // key "": accepted
	}{
		{"[milter]\nmax_secure_size = 1\n", ""},
		{"[milter]\nmax_secure_size = 0\n", "milter.max_secure_size"},
		{"[milter]\nlisten = \"unix:/run/postseal/milter.sock\"\n", ""},
		{"[milter]\nlisten = \"unix:\"\n", "milter.listen"},
		{"[milter]\nlisten = \"inet:h:1\"\n", ""},
		{"[milter]\nlisten = \"inet::1\"\n", "milter.listen"},
		{"[milter]\nlisten = \"inet:h:0\"\n", "milter.listen"},
		{"[milter]\nreinject = \"h:65535\"\n", ""},
		{"[milter]\nreinject = \"h:65536\"\n", "milter.reinject"},
		{"[milter]\ntimeout = \"1s\"\n", ""},
		{"[milter]\ntimeout = \"0s\"\n", "milter.timeout"},
		{"[milter]\nspool_dir = \"\"\n", "milter.spool_dir"},
		{"[keyserver]\npassword_min_length = 8\n", ""},
		{"[keyserver]\npassword_min_length = 7\n", "keyserver.password_min_length"},
		{"[keyserver]\nargon2_memory = \"7MiB\"\n", ""},
		{"[keyserver]\nargon2_memory = \"7340031\"\n", "keyserver.argon2_memory"},
		{"[keyserver]\nargon2_memory = \"4GiB\"\n", ""},
		{"[keyserver]\nargon2_memory = \"4294967297\"\n", "keyserver.argon2_memory"},
		{"[keyserver]\nargon2_time = 1\n", ""},
		{"[keyserver]\nargon2_time = 100\n", ""},
		{"[keyserver]\nargon2_time = 0\n", "keyserver.argon2_time"},
		{"[keyserver]\nargon2_time = 101\n", "keyserver.argon2_time"},
		{"[keyserver]\nargon2_threads = 1\n", ""},
		{"[keyserver]\nargon2_threads = 255\n", ""},
		{"[keyserver]\nargon2_threads = 0\n", "keyserver.argon2_threads"},
		{"[keyserver]\nargon2_threads = 256\n", "keyserver.argon2_threads"},
		{"[keyserver]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\", \"2001:db8::/32\"]\n", ""},
		{"[keyserver]\ntrusted_proxies = [\"10.0.0.0/8\", \"nope\"]\n", "keyserver.trusted_proxies[1]"},
		{"[keyserver]\npublic_url = \"ftp://keys.example\"\n", "keyserver.public_url"},
		{"[keyserver]\npublic_url = \"https://keys.example\"\n", ""},
		{"[keyserver]\nlogin_rate = \"10001/min\"\n", "keyserver.login_rate"},
		{"[audit]\nkeep = \"1d\"\n", ""},
		{"[audit]\nkeep = \"23h59m59s\"\n", "audit.keep"},
		{"[envelope]\nonline_copy_hours = 0\n", ""},
		{"[envelope]\nonline_copy_hours = 168\n", ""},
		{"[reply]\nmax_recipients = 1\n", ""},
		{"[reply]\nmax_recipients = 100\n", ""},
		{"[reply]\nmax_recipients = 0\n", "reply.max_recipients"},
		{"[reply]\nmax_recipients = 101\n", "reply.max_recipients"},
		{"[[scanner.keywords]]\nname = \"phi\"\nwords = [\"chart\"]\n", ""},
		{"[[scanner.keywords]]\nname = \"phi\"\nwords = [\"chart\", \" \"]\n", "scanner.keywords[0].words[1]"},
		{"[[trigger]]\nname = \"x\"\nsenders = [\"cfo@example.org\", \"*@*.example.org\"]\nmarker = \"[S]\"\n", ""},
		{"[[trigger]]\nname = \"x\"\nsenders = [\"@example.org\"]\nmarker = \"[S]\"\n", "trigger[0].senders[0]"},
		{"[[trigger]]\nname = \"x\"\nrecipients = [\"*@lab.example\", \"*@*.lab.example\"]\nmarker = \"[S]\"\n", ""},
		{"[[trigger]]\nname = \"x\"\nrecipients = [\"*@lab.example\", \"lab.example\"]\nmarker = \"[S]\"\n", "trigger[0].recipients[1]"},
		{"[[trigger]]\nname = \"x\"\nsenders = [\"cfo@\"]\nmarker = \"[S]\"\n", "trigger[0].senders[0]"},
		{"[[trigger]]\nname = \"x\"\nsenders = [\"cfo[@example.org\"]\nmarker = \"[S]\"\n", "trigger[0].senders[0]"},
		{"[[trigger]]\nname = \"x\"\nmatch = \"s\"\nmarker = \"[S]\"\nouter_subject = \"neutral\"\n", ""},
		{"[[trigger]]\nname = \"x\"\nmatch = \"s\"\nmarker = \"[S]\"\nouter_subject = \"blank\"\n", "trigger[0].outer_subject"},
	} {
		_, err := Parse("p.toml", []byte(c.body))
		switch {
		case c.key == "" && err != nil:
			t.Errorf("%q: %v; want it accepted", c.body, err)
		case c.key != "" && (err == nil || !strings.Contains(err.Error(), c.key)):
			t.Errorf("%q: %v; want an error naming %s", c.body, err, c.key)
		}
	}
}
