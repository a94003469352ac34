# Makefile - the commands a user types. Everything real happens in CMake and scripts/.
#   make run   installs missing packages, builds, runs the example app (APP=..., ARGS=...)
#   make test  installs, builds, runs every test through ctest
BUILD ?= build
APP ?= tls-echo-server
ARGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all setup build run test clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/portal-host run $(BUILD)/apps-wasm/$(APP).wasm -- $(ARGS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure --timeout 600

clean:
	rm -rf $(BUILD)
