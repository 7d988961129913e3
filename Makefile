# postseal — see README.md. `make run` and `make test` are the two commands
# that matter; both work on a fresh Debian machine as root.

GO            ?= go
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -s -w -X main.version=$(VERSION)
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.6.1
NFPM          := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# The packages' version: git describe made valid for deb and rpm.
PKG_VERSION   ?= $(shell sh packaging/version.sh)
PKG_RELEASE   := 1
GOBIN         := $(shell $(GO) env GOPATH)/bin
# Debian packages the tests drive for real (private instances, nothing of
# the system configuration is touched).
TEST_DEBS     := postgresql postfix swaks miltertest gnupg sendmail-cf m4 sqlite3 lintian rpm systemd chromium firefox-esr libreoffice-writer-nogui libreoffice-calc-nogui qpdf
TEST_TIMEOUT  ?= 15m

.PHONY: all build run test test-deps lint bench clean package check-bundle bundle mutate fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o postseal ./cmd/postseal

# The main job on embedded defaults: milter on inet:127.0.0.1:10025, key
# service on http://127.0.0.1:8025, SQLite and master key under ./var/.
run: build
	./postseal serve

# Installs what the real-component tests need, when missing. Postfix is
# installed without configuration (the tests run private instances).
test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v npm >/dev/null || { echo "installing: nodejs npm (for check-bundle)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; }
	@# Firefox ESR is driven by puppeteer-core (pinned in test/firefox's lockfile).
	@test -d test/firefox/node_modules/puppeteer-core || { cd test/firefox && npm ci --no-audit --no-fund --loglevel=error; }
	@# axe-core (accessibility checks in Chromium), pinned in test/axe's lockfile.
	@test -f test/axe/node_modules/axe-core/axe.min.js || { cd test/axe && npm ci --no-audit --no-fund --loglevel=error; }
	bash test/e2e/install-sendmail.sh >/dev/null
	@test -x $(GOBIN)/nfpm || $(GO) install $(NFPM)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	@test -x $(GOBIN)/staticcheck || $(GO) install $(STATICCHECK)
	$(GOBIN)/staticcheck ./...

# The securedoc decryptor (web/) is built into envelope/assets/decryptor.js
# and committed: `make bundle` rebuilds it, `make check-bundle` proves the
# committed file is exactly what web/ builds (same inputs, same bytes) and
# runs web/'s own tests.
BUNDLE := envelope/assets/decryptor.js

web/node_modules: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "check-bundle: needs node and npm (apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch web/node_modules

bundle: web/node_modules
	node web/build.mjs $(BUNDLE)

check-bundle: web/node_modules
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && \
	node web/build.mjs "$$tmp" || { echo "check-bundle: web/build.mjs failed"; exit 1; }; \
	cmp -s "$$tmp" $(BUNDLE) || { echo "check-bundle: $(BUNDLE) is not what web/ builds: run 'make bundle' and commit the result"; exit 1; }; \
	echo "check-bundle: $(BUNDLE) matches web/ ($$(wc -c < $(BUNDLE)) bytes)"
	cd web && node --test test/

# test/gotest.sh finds or starts PostgreSQL, sets CI=true (a missing real
# component fails its test) and fails the run if any test skipped.
test: test-deps lint check-bundle
	GO=$(GO) bash test/gotest.sh -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	# The tests built only without the race detector (//go:build !race):
	# sealing-heavy tables whose password S2K it slows tenfold.
	GO=$(GO) bash test/gotest.sh -count=1 -timeout $(TEST_TIMEOUT) -run 'TestExplainSealAndMilterAgree' ./cmd/postseal

bench: test-deps
	$(GO) run ./bench

# Mutation testing of the packages that decide and guard (slow: hours on a
# small machine; MUTATE_PKGS=keyserver for one package). One line per
# package, "mutation PACKAGE KILLED/TOTAL PERCENT%", then its survivors;
# equivalent ones are explained in test/mutation-equivalent.txt.
GREMLINS      := github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
mutate: test-deps
	@test -x $(GOBIN)/gremlins || $(GO) install $(GREMLINS)
	GO=$(GO) GREMLINS=$(GOBIN)/gremlins bash test/mutate.sh

# Every fuzz target for FUZZTIME each (default 60s): before a release.
fuzz:
	GO=$(GO) bash test/fuzz.sh

# $(DIST)/postseal_VERSION-1_amd64.deb and $(DIST)/postseal-VERSION-1.x86_64.rpm:
# the static binary, the conffile /etc/postseal/postseal.toml, the hardened
# systemd unit, man pages, copyright (from the modules linked in) and the
# Postfix/Sendmail snippets. See packaging/.
DIST          ?= dist
package:
	@test -x $(GOBIN)/nfpm || $(GO) install $(NFPM)
	rm -rf $(DIST)/build $(DIST)/*.deb $(DIST)/*.rpm && mkdir -p $(DIST)/build
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(PKG_VERSION)' -o $(DIST)/build/postseal ./cmd/postseal
	gzip -9n < packaging/man/postseal.8 > $(DIST)/build/postseal.8.gz
	gzip -9n < packaging/man/postseal.toml.5 > $(DIST)/build/postseal.toml.5.gz
	sh packaging/changelog.sh $(PKG_VERSION)-$(PKG_RELEASE) | gzip -9n > $(DIST)/build/changelog.Debian.gz
	sh packaging/copyright.sh $(DIST)/build/postseal > $(DIST)/build/copyright
	sed 's#@BUILD@#$(DIST)/build#' packaging/nfpm.yaml > $(DIST)/build/nfpm.yaml
	POSTSEAL_VERSION=$(PKG_VERSION) $(GOBIN)/nfpm package -f $(DIST)/build/nfpm.yaml -p deb -t $(DIST)/postseal_$(PKG_VERSION)-$(PKG_RELEASE)_amd64.deb
	POSTSEAL_VERSION=$(PKG_VERSION) $(GOBIN)/nfpm package -f $(DIST)/build/nfpm.yaml -p rpm -t $(DIST)/postseal-$(PKG_VERSION)-$(PKG_RELEASE).x86_64.rpm

clean:
	rm -rf postseal dist bench.json
