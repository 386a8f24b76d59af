# atmo: `make test` passes the tests on a fresh Debian machine (as root it
# installs Chromium when missing); `make build` builds the WASM.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/bin
GOROOT_WASM := $(shell $(GO) env GOROOT)/lib/wasm
# wasmbrowsertest's pinned CDP client predates this Chromium; drop its noise.
NOISE := could not unmarshal event

.PHONY: all test test-native test-browser build deps chromium lint clean

all: build

test: deps build lint test-native test-browser

deps: chromium $(BIN)/wasmbrowsertest

# Chromium runs the browser tests. Installed from Debian when missing.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
	  echo "installing chromium (apt-get)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The browser test runner, at the version go.mod's tool directive pins.
$(BIN)/wasmbrowsertest: go.mod go.sum
	$(GO) build -o $@ github.com/agnivade/wasmbrowsertest

build:
	GOOS=js GOARCH=wasm $(GO) build ./...

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) tool actionlint

test-native:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	$(GO) test -race -count=1 ./...

test-browser: deps
	GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 10m -exec $(BIN)/wasmbrowsertest ./wasm/... 2>&1 | { grep -v "$(NOISE)" || true; }

clean:
	rm -rf $(BIN)
