# atmo. The two commands of the README:
#   make demo   the main job: serve the dashboard and run it headless (make serve: with your browser)
#   make test   every test: native Go, real Web Workers in headless Chromium, Node.js worker_threads
# On a fresh Debian machine they install what is missing (Chromium with apt-get, as root;
# Go tools from go.mod's tool directive).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
# Relative, so that a clone whose path has a space still builds (make splits
# targets on spaces); ABS_BIN, quoted, where an absolute path is needed.
BIN := bin
ABS_BIN := $(CURDIR)/bin
WASM_OUT := $(BIN)/wasm
GOROOT_WASM := $(shell $(GO) env GOROOT)/lib/wasm
ADDR ?= 127.0.0.1:8080
# Noise to drop from browser test output: wasmbrowsertest's CDP client predates
# this Chromium.
NOISE := could not unmarshal event

GO_WORKERS := $(wildcard examples/goworker/*/main.go)
TEST_MODULES := $(wildcard wasm/worker/testdata/*/main.go wasm/jsapi/testdata/*/main.go wasm/atmo/testdata/*/main.go)

.PHONY: all test test-native test-browser test-node build build-wasm deps chromium node cc lint serve demo bench soak clean

all: build

test: deps build lint test-native test-browser test-node

deps: chromium node $(BIN)/wasmbrowsertest

# apt_install PACKAGES,WHAT: apt-get install PACKAGES, as root or through sudo.
# Under flock: with make -j, chromium and node would otherwise run apt-get at
# once, and the second fails on apt's lock. sudo drops DEBIAN_FRONTEND from its
# environment, so env passes it on.
define apt_install
if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else \
  echo "$(2) is missing, and installing it takes root: run \`apt-get install $(1)\` as root, or make $@ as root" >&2; exit 1; fi; \
echo "installing $(1) (apt-get)"; mkdir -p $(BIN); \
flock $(BIN)/.apt.lock $$SUDO env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -qq && apt-get install -y -qq $(1) >/dev/null'
endef

# Node.js runs the server-worker tests (Go's own go_js_wasm_exec runner) and
# npm installs the bench's peer. Installed from Debian when missing.
node:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  $(call apt_install,nodejs npm,Node.js or npm); \
	fi

# Chromium runs the browser tests and the demo. Installed from Debian when
# missing (the names chromedp and host look for, or CHROMIUM, as host takes).
chromium:
	@if [ -n "$${CHROMIUM:-}" ]; then [ -x "$$CHROMIUM" ] || { echo "CHROMIUM=$$CHROMIUM is not an executable" >&2; exit 1; }; \
	elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1 && ! command -v google-chrome-stable >/dev/null 2>&1; then \
	  $(call apt_install,chromium,Chromium); \
	fi

# A C compiler: go test -race needs cgo. Installed from Debian when missing.
cc:
	@if [ "$$($(GO) env CGO_ENABLED)" != 1 ]; then \
	  $(call apt_install,gcc libc6-dev,A C compiler (go test -race needs cgo)); \
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
	@cp "$(GOROOT_WASM)/wasm_exec.js" $(WASM_OUT)/wasm_exec.js

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) tool actionlint

# The host tests load bin/wasm in Chromium and run Node.js and npm: after deps and build-wasm.
test-native: deps cc build-wasm
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

# Browser tests: every js/wasm package but the Node.js ones, in headless Chromium;
# then the chaos soak on its own, so that its figures are printed.
test-browser: deps build-wasm
	GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 15m -skip TestChaosSoak -exec "'$(ABS_BIN)/wasmbrowsertest'" \
	  $$(GOOS=js GOARCH=wasm $(GO) list ./wasm/... | grep -v /nodetest) 2>&1 | { grep -v -E "$(NOISE)" || true; }
	$(MAKE) --no-print-directory soak SOAK_TASKS=10000

# The chaos soak: SOAK_TASKS tasks over JS and Go workers while workers are killed.
SOAK_TASKS ?= 100000
soak: deps build-wasm
	GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 30m -v -run TestChaosSoak -exec "'$(ABS_BIN)/wasmbrowsertest'" ./wasm/atmo \
	  -args -soak.tasks=$(SOAK_TASKS) 2>&1 | { grep -v -E "$(NOISE)" || true; } | { grep -E "chaos soak|^(ok|FAIL|---|panic)|Error|_test.go" || true; }

# Node.js tests: the same TaskManager on worker_threads, with Go's own Node runner.
test-node: node build-wasm
	@if [ -n "$$(GOOS=js GOARCH=wasm $(GO) list ./wasm/... | grep /nodetest || true)" ]; then \
	  PATH="$(GOROOT_WASM):$$PATH" GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 10m $$(GOOS=js GOARCH=wasm $(GO) list ./wasm/... | grep /nodetest); \
	fi

serve: build
	$(GO) run ./host -addr $(ADDR)

# Chromium only: the demo needs neither Node.js nor the test runner.
demo: chromium build
	$(GO) run ./host demo

# BENCH_FLAGS: e.g. -short (under a minute), -runs 5, -json path.
bench: deps build
	$(GO) run ./host bench $(BENCH_FLAGS)

clean:
	rm -rf $(BIN)
