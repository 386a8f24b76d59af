# atmo. The two commands of the README:
#   make demo   the main job: serve the dashboard and run it headless (make serve: with your browser)
#   make test   every test: native Go, real Web Workers in headless Chromium, Node.js worker_threads
# On a fresh Debian machine they install what is missing (Chromium with apt-get, as root;
# Go tools from go.mod's tool directive).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/bin
WASM_OUT := $(BIN)/wasm
GOROOT_WASM := $(shell $(GO) env GOROOT)/lib/wasm
ADDR ?= 127.0.0.1:8080
# Noise to drop from browser test output: wasmbrowsertest's CDP client predates
# this Chromium.
NOISE := could not unmarshal event

GO_WORKERS := $(wildcard examples/goworker/*/main.go)
TEST_MODULES := $(wildcard wasm/worker/testdata/*/main.go wasm/jsapi/testdata/*/main.go wasm/atmo/testdata/*/main.go)

.PHONY: all test test-native test-browser test-node build build-wasm deps chromium node lint serve demo bench soak clean

all: build

test: deps build lint test-native test-browser test-node

deps: chromium node $(BIN)/wasmbrowsertest

# Node.js runs the server-worker tests (Go's own go_js_wasm_exec runner) and
# npm installs the bench's peer. Installed from Debian when missing.
node:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "installing nodejs and npm (apt-get)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; \
	fi

# Chromium runs the browser tests and the demo. Installed from Debian when missing.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
	  echo "installing chromium (apt-get)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The browser test runner, at the version go.mod's tool directive pins.
$(BIN)/wasmbrowsertest: go.mod go.sum
	$(GO) build -o $@ github.com/agnivade/wasmbrowsertest

# build: every WASM module. The main-thread program for the JS API (if
# present), the example Go workers, and the modules the tests load.
build: build-wasm
	GOOS=js GOARCH=wasm $(GO) build ./...
	$(GO) build ./...

build-wasm:
	@mkdir -p $(WASM_OUT)/workers $(WASM_OUT)/testdata
	@if [ -d wasm/cmd/atmo ]; then echo "build $(WASM_OUT)/atmo.wasm"; GOOS=js GOARCH=wasm $(GO) build -o $(WASM_OUT)/atmo.wasm ./wasm/cmd/atmo; fi
	@for f in $(GO_WORKERS); do d=$$(dirname $$f); n=$$(basename $$d); echo "build $(WASM_OUT)/workers/$$n.wasm"; \
	  GOOS=js GOARCH=wasm $(GO) build -o $(WASM_OUT)/workers/$$n.wasm ./$$d; done
	@for f in $(TEST_MODULES); do d=$$(dirname $$f); n=$$(basename $$d); echo "build $(WASM_OUT)/testdata/$$n.wasm"; \
	  GOOS=js GOARCH=wasm $(GO) build -o $(WASM_OUT)/testdata/$$n.wasm ./$$d; done
	@cp $(GOROOT_WASM)/wasm_exec.js $(WASM_OUT)/wasm_exec.js

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) tool actionlint

test-native:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

# Browser tests: every js/wasm package but the Node.js ones, in headless Chromium;
# then the chaos soak on its own, so that its figures are printed.
test-browser: deps build-wasm
	GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 15m -skip TestChaosSoak -exec $(BIN)/wasmbrowsertest \
	  $$(GOOS=js GOARCH=wasm $(GO) list ./wasm/... | grep -v /nodetest) 2>&1 | { grep -v -E "$(NOISE)" || true; }
	$(MAKE) --no-print-directory soak SOAK_TASKS=10000

# The chaos soak: SOAK_TASKS tasks over JS and Go workers while workers are killed.
SOAK_TASKS ?= 100000
soak: deps build-wasm
	GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 30m -v -run TestChaosSoak -exec $(BIN)/wasmbrowsertest ./wasm/atmo \
	  -args -soak.tasks=$(SOAK_TASKS) 2>&1 | { grep -v -E "$(NOISE)" || true; } | { grep -E "chaos soak|^(ok|FAIL|---|panic)|Error|_test.go" || true; }

# Node.js tests: the same TaskManager on worker_threads, with Go's own Node runner.
test-node: node build-wasm
	@if [ -n "$$(GOOS=js GOARCH=wasm $(GO) list ./wasm/... | grep /nodetest || true)" ]; then \
	  PATH="$(GOROOT_WASM):$$PATH" GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 10m $$(GOOS=js GOARCH=wasm $(GO) list ./wasm/... | grep /nodetest); \
	fi

serve: build
	$(GO) run ./host -addr $(ADDR)

demo: deps build
	$(GO) run ./host demo

# BENCH_FLAGS: e.g. -short (under a minute), -runs 5, -json path.
bench: deps build
	$(GO) run ./host bench $(BENCH_FLAGS)

clean:
	rm -rf $(BIN)
