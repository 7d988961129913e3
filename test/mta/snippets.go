package mta

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The tests configure Postfix and Sendmail with the files the packages
// ship (packaging/postfix, packaging/sendmail), not with copies, so that
// what is documented is what is tested. A private instance must differ
// from a real installation in one thing only: where it reaches postseal
// and its re-injection listener (a test's own ports instead of the
// packaged socket and port 10026). SnippetSocket and SnippetReinject are
// those shipped values; the functions below substitute them and nothing
// else.
const (
	SnippetSocket   = "unix:/run/postseal/milter.sock"
	SnippetReinject = "127.0.0.1:10026"
)

// RepoRoot is the repository's top folder: the nearest folder upwards from
// the working directory that holds go.mod (tests run in their package's
// folder, the bench in the top folder).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("mta: no go.mod above the working directory")
		}
		dir = parent
	}
}

// SnippetPath is the path of a shipped file under packaging/.
func SnippetPath(rel string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "packaging", filepath.FromSlash(rel)), nil
}

// snippetLines reads a Postfix snippet: comments and blank lines dropped,
// continuation lines (starting with white space) joined to the line before,
// as Postfix reads main.cf and master.cf.
func snippetLines(rel string) ([]string, error) {
	path, err := SnippetPath(rel)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mta: the shipped snippet: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if len(out) == 0 {
				return nil, fmt.Errorf("mta: %s: continuation line without a line before it", path)
			}
			out[len(out)-1] += " " + trimmed
		default:
			out = append(out, trimmed)
		}
	}
	return out, sc.Err()
}

// MainCFSnippet returns the settings of packaging/postfix/main.cf.snippet
// as "name=value" for postconf -e, with the packaged milter socket replaced
// by milter ("" leaves the instance without a milter).
func MainCFSnippet(milter string) ([]string, error) {
	lines, err := snippetLines("postfix/main.cf.snippet")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lines {
		name, value, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("mta: main.cf.snippet: not NAME = VALUE: %q", l)
		}
		value = strings.ReplaceAll(strings.TrimSpace(value), SnippetSocket, milter)
		out = append(out, strings.TrimSpace(name)+"="+value)
	}
	return out, nil
}

// MasterCFSnippet returns the re-injection service of
// packaging/postfix/master.cf.snippet as a postconf -Me argument, listening
// on port instead of the packaged 10026.
func MasterCFSnippet(port int) (string, error) {
	lines, err := snippetLines("postfix/master.cf.snippet")
	if err != nil {
		return "", err
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], SnippetReinject+" ") {
		return "", fmt.Errorf("mta: master.cf.snippet: want one service on %s, got %q", SnippetReinject, lines)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return addr + "/inet = " + strings.Replace(lines[0], SnippetReinject, addr, 1), nil
}

// SendmailMilterLine returns the INPUT_MAIL_FILTER line of
// packaging/sendmail/postseal.mc with the packaged socket replaced by
// milter in Sendmail's notation (e.g. "inet:10025@127.0.0.1").
func SendmailMilterLine(milter string) (string, error) {
	path, err := SnippetPath("sendmail/postseal.mc")
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("mta: the shipped sendmail line: %w", err)
	}
	const socket = "S=local:/run/postseal/milter.sock"
	var found []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "INPUT_MAIL_FILTER(") {
			found = append(found, l)
		}
	}
	if len(found) != 1 || !strings.Contains(found[0], socket) {
		return "", fmt.Errorf("mta: %s: want one INPUT_MAIL_FILTER line with %s, got %q", path, socket, found)
	}
	return strings.Replace(found[0], socket, "S="+milter, 1), nil
}
