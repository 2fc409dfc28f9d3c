# Weir build. `make test` and `make lab` are the README's two commands; both bootstrap first.
SHELL := /bin/bash
# Every recipe runs the cached Node.js 22 (scripts/node22.sh; fetched from the npm registry once).
NODE22_BIN := $(shell bash scripts/node22.sh 2>/dev/null | xargs -r dirname)
ifneq ($(NODE22_BIN),)
export PATH := $(NODE22_BIN):$(PATH)
endif
BUILD := build
ARCH_INCLUDE := /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I bpf/include -I $(ARCH_INCLUDE)
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
NATIVE_SRCS := $(wildcard native/src/*.cc native/src/*.hh) native/binding.gyp
# Headers of the running Node (Debian/nodesource: /usr/include/node; tarballs: <prefix>/include/node),
# so node-gyp never downloads them.
NODE_DIR := $(shell node -p "require('path').resolve(process.execPath, '../..')")
CNI_SRCS := $(wildcard native/cni/*.c native/cni/*.h)

.PHONY: all build bootstrap bpf native cni ts lint test lab lab-down clean
all build: bpf native cni ts

bootstrap:
	@bash scripts/bootstrap.sh

bpf: $(BPF_OBJS)
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/include/*.h)
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -c $< -o $@

# flock: test suites run `make native` themselves; concurrent node-gyp rebuilds would wipe each other's build dir.
native: native/build/Release/weir_native.node
native/build/Release/weir_native.node: $(NATIVE_SRCS)
	@mkdir -p $(BUILD)
	cd native && flock ../$(BUILD)/.native.lock ../node_modules/.bin/node-gyp rebuild --silent --nodedir=$(NODE_DIR)

cni: $(BUILD)/bin/weir
$(BUILD)/bin/weir: $(CNI_SRCS)
	@mkdir -p $(dir $@)
	@if [ -n "$(CNI_SRCS)" ]; then gcc -O2 -Wall -Wextra -Werror -static -o $@ $(filter %.c,$(CNI_SRCS)); fi

ts:
	node_modules/.bin/tsc -p tsconfig.build.json

# typescript-eslint strict type-checked (eslint.config.js) and clang-format (bpf/, native/); any finding fails.
lint:
	node_modules/.bin/eslint --max-warnings 0 .
	bash scripts/check-c-format.sh

test: bootstrap
	bash scripts/test.sh

lab: bootstrap
	./bin/weir lab up

lab-down:
	./bin/weir lab down

clean:
	rm -rf $(BUILD) dist native/build

# The real-node lab (lab/realnode, docs/real-node.md): kubelet + containerd + Multus + kube-proxy
# on this machine, Weir installed by its chart from images built here offline.
.PHONY: realnode-tools realnode-images realnode-up realnode-down realnode-netpol realnode-netpol-focused realnode-test realnode-cnp-conformance
realnode-tools:
	bash scripts/build-go-tools.sh realnode

realnode-images: build realnode-tools
	bash images/build.sh

realnode-up: realnode-images
	bash lab/realnode/up.sh

realnode-down:
	bash lab/realnode/down.sh

# The upstream NetworkPolicy e2e suite (k8s.io/kubernetes v1.34.4 test/e2e/network/netpol), in full,
# against the running real node; per-test results go to docs/conformance.md.
realnode-netpol: realnode-tools
	bash lab/realnode/netpol-e2e.sh

# The network-policy-api v0.3.0 conformance suite against the running real node; its
# ConformanceReport goes to docs/conformance/v0.3.0/weir-$(PROFILE).yaml (PROFILE=standard|experimental).
PROFILE ?= standard
realnode-cnp-conformance: realnode-tools
	bash lab/realnode/cnp-conformance.sh $(PROFILE)

# The real node end to end (test/realnode): up, kubectl exec/logs, chart pods, a policy enforced, then
# a teardown that must leave nothing. Not part of `make test`: it owns the machine's one real node.
realnode-test: realnode-images
	CI=true PATH=$(HOME)/.cache/weir/bin:$$PATH node_modules/.bin/vitest run --config test/realnode/vitest.config.ts

# One spec per area (deny-all, pod + namespace selectors, ports, egress, update;
# lab/realnode/netpol-focused.txt) on a running node, no doc rewritten. `make test` runs the same
# subset inside the real-node suite (test/realnode).
realnode-netpol-focused: realnode-tools
	WEIR_NETPOL_DOC=none bash lab/realnode/netpol-e2e.sh --focused
