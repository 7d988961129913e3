package main

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
)

// shippedConfig is the conffile the packages install as
// /etc/postseal/postseal.toml.
var shippedConfig = filepath.Join("..", "..", "packaging", "postseal.toml")

// packagePaths are the only settings in which the shipped file may differ
// from the embedded defaults: where a package keeps its state and socket.
func packagePaths(c *config.Config) {
	c.Milter.Listen = "unix:/run/postseal/milter.sock"
	c.Milter.SpoolDir = "/var/lib/postseal/spool"
	c.Store.DSN = "/var/lib/postseal/postseal.db"
	c.Store.MasterKey = "/var/lib/postseal/master.key"
}

// TestShippedConfigIsDefaults: the packaged file passes check-config, and
// what it configures is the embedded defaults (both seed behaviours) with
// the package's paths — so the file cannot drift from the code.
func TestShippedConfigIsDefaults(t *testing.T) {
	if code, out, errs := runCLI(t, "", "check-config", "-c", shippedConfig); code != exitOK {
		t.Fatalf("check-config on the shipped file exited %d:\n%s%s", code, out, errs)
	}
	got, err := config.Load(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	packagePaths(want)
	want.Source = got.Source
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the shipped file's effective configuration differs from the defaults:\n got %+v\nwant %+v", *got, *want)
	}
}

// TestShippedConfigListsEveryKey: every key of the schema appears in the
// shipped file, set or as a commented example, with a comment above it
// or in its table — an admin reads the file, not the source.
func TestShippedConfigListsEveryKey(t *testing.T) {
	f, err := os.Open(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := regexp.MustCompile(`^#?\s*\[\[?\s*([a-z0-9_.]+)\s*\]\]?\s*$`)
	key := regexp.MustCompile(`^#?\s*([a-z0-9_]+)\s*=`)
	listed := map[string]bool{}
	var current string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := table.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		if m := key.FindStringSubmatch(line); m != nil {
			listed[current+"."+m[1]] = true
		}
	}
	var missing []string
	for _, k := range schemaKeys(reflect.TypeOf(config.Config{}), "") {
		if !listed[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("keys of the schema missing from packaging/postseal.toml (add them with their default and a comment): %s", strings.Join(missing, ", "))
	}
}

// schemaKeys lists "table.key" for every TOML key of a struct type.
func schemaKeys(typ reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name := strings.Split(f.Tag.Get("toml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		full := name
		if prefix != "" {
			full = prefix + "." + name
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, schemaKeys(ft, full)...)
			continue
		}
		out = append(out, full)
	}
	return out
}

// TestUnitBoundsMemory: the shipped unit caps the process's memory, and
// the softer limits come first (the Go runtime's, then the kernel's
// reclaim), so a flood slows down before anything is killed.
func TestUnitBoundsMemory(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "packaging", "systemd", "postseal.service"))
	if err != nil {
		t.Fatal(err)
	}
	size := func(v string) int64 {
		t.Helper()
		units := map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
		m := regexp.MustCompile(`^(\d+)([A-Za-z]*)$`).FindStringSubmatch(v)
		if m == nil || units[m[2]] == 0 {
			t.Fatalf("size %q", v)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n * units[m[2]]
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if k == "Environment" {
				k, v, _ = strings.Cut(v, "=")
			}
			got[k] = v
		}
	}
	if got["MemoryMax"] == "" || got["MemoryHigh"] == "" || got["GOMEMLIMIT"] == "" {
		t.Fatalf("unit without MemoryMax, MemoryHigh or GOMEMLIMIT: %v", got)
	}
	if max, high, gc := size(got["MemoryMax"]), size(got["MemoryHigh"]), size(got["GOMEMLIMIT"]); !(gc < high && high < max) {
		t.Errorf("want GOMEMLIMIT < MemoryHigh < MemoryMax; got %d, %d, %d", gc, high, max)
	}
}
