# Makefile - the commands a user types. Everything real happens in CMake and scripts/.
#   make run   installs missing packages, builds, runs the example app (APP=..., ARGS=...);
#              an unknown APP lists the apps (so does `make apps`)
#   make install PREFIX=P   installs portal-host and the SDK (CMake package PortalSDK) under P
#   make test  installs, builds, runs every test through ctest: once on the normal build, then the
#              unit and integration tests again on that build under valgrind memcheck
#              (test-valgrind), then everything on an ASan + UBSan build (build-asan)
#   make bench benchmarks (~7 min; BENCH_ARGS=--quick for ~2 min), writes docs/benchmarks.md
BUILD ?= build
BUILD_ASAN ?= build-asan
VALGRIND_LOGS ?= $(abspath $(BUILD))/valgrind
APP ?= tls-echo-server
ARGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
PREFIX ?= /usr/local

.PHONY: all setup build build-asan run apps list-apps install test test-release test-valgrind test-asan bench clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory

run: build
	@[ -n "$(APP)" ] && [ -f $(BUILD)/apps-wasm/$(APP).wasm ] || \
	    { echo "make run: no app '$(APP)' in $(BUILD)/apps-wasm; use make run APP=NAME with one of:"; \
	      $(MAKE) -s --no-print-directory list-apps; exit 2; }
	$(BUILD)/portal-host run $(BUILD)/apps-wasm/$(APP).wasm -- $(ARGS)

# The built apps: the examples (apps/) first, then the test apps.
apps: build
	@$(MAKE) -s --no-print-directory list-apps

list-apps:
	@for w in $(BUILD)/apps-wasm/*.wasm; do n=$$(basename $$w .wasm); \
	    if [ -d apps/$$n ]; then echo "  $$n"; fi; done
	@for w in $(BUILD)/apps-wasm/*.wasm; do n=$$(basename $$w .wasm); \
	    if [ ! -d apps/$$n ]; then echo "  $$n (test app)"; fi; done

# The SDK for apps outside this repo (cmake/install.cmake lists what goes where); an app's
# CMakeLists.txt then needs find_package(PortalSDK) and portal_add_app() (README: Writing an app).
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

build-asan: setup
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPORTAL_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j$(JOBS) -- --no-print-directory

test: test-release test-valgrind test-asan

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure --timeout 600

# valgrind memcheck (--leak-check=full) on the normal build, no third build: PORTAL_VALGRIND=1 makes
# the unit tests and every portal-host the integration scripts start run under valgrind
# (tests/valgrind/), with reduced counts where a script says so. Not fuzz (own ASan), bench, or
# tests labelled no-valgrind. check-logs.sh then fails the pass on any error or definitely/
# indirectly lost block in any process's log, whatever exit status the script saw.
# VALGRIND_TESTS=regex runs only the matching tests (ctest -R), e.g. VALGRIND_TESTS=test_runtime.
test-valgrind: build
	@rm -rf $(VALGRIND_LOGS)
	@start=$$(date +%s); \
	PORTAL_VALGRIND=1 PORTAL_VALGRIND_LOGS=$(VALGRIND_LOGS) ctest --test-dir $(BUILD) \
	    -LE 'fuzz|bench|no-valgrind' $(if $(VALGRIND_TESTS),-R '$(VALGRIND_TESTS)') \
	    --output-on-failure --timeout 900; rc=$$?; \
	bash tests/valgrind/check-logs.sh $(VALGRIND_LOGS) || rc=1; \
	echo "valgrind pass: $$(($$(date +%s) - start)) s"; exit $$rc

# Sanitizers abort on the first finding (UBSan without recovery) and LeakSanitizer fails a process
# that leaks, so the same suite doubles as the memory-safety and leak check.
test-asan: build-asan
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 ctest --test-dir $(BUILD_ASAN) --output-on-failure --timeout 900

# Benchmarks: ours vs raw mbedTLS, Node.js, openssl s_server, socat; writes docs/benchmarks.md + .png.
bench: build
	@bash scripts/setup.sh bench
	bash bench/run.sh $(BUILD) $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
