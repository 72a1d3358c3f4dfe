# acklab — the two commands a new user needs: `make lab` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json

.PHONY: help deps build engine images lab lab-loopback test test-unit test-integration test-kernel test-multi-engine bench typecheck clean

help:
	@echo "make lab    - set everything up and run the main lab experiment"
	@echo "make test   - set everything up and run every test"
	@echo "make test-kernel - the netem and userspace backends on a real kernel under qemu (test/kernel/)"
	@echo "make test-multi-engine - one lab across two Docker engines on a swarm overlay network (root)"
	@echo "make bench  - run the benchmarks (figures and ratios)"

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

deps: $(NPM_STAMP)

build: deps
	npm run build --silent

# A Docker engine that answers (installed and started here on Debian/Ubuntu as root when none does).
engine:
	scripts/ensure-engine.sh

images: engine build
	node bin/acklab.js images

# The main lab job: the default experiment (peer pair + 3-peer mcast mesh under five network conditions),
# its comparison table, and report.md / report.html under lab/runs/.
EXPERIMENT ?= lab/experiments/ack-vs-conditions.yaml
lab: engine build
	node bin/acklab.js run $(EXPERIMENT) --parallel 2

# The three programs on loopback, no Docker: a peer server with two clients and three mcast peers.
lab-loopback: build
	node scripts/lab-loopback.mjs

bench: build
	npm run --silent bench:echo
	npm run --silent bench:lab
	npm run --silent bench:impair
	npm run --silent bench:faults
	npm run --silent bench:kernel
	npm run --silent bench:multi-engine

typecheck: deps
	npx tsc -p tsconfig.test.json

test: build typecheck
	ACKLAB_EXTRA_HOST_PACKAGES="chromium bash-completion" scripts/ensure-engine.sh
	npx vitest run

test-unit: build
	npx vitest run --project unit

test-integration: engine build
	npx vitest run --project integration

# Debian's kernel (with sch_netem) under qemu, both backends, the controller's own plan: no Docker needed.
# Installs qemu-system-x86 / busybox-static when missing (root on Debian) and fetches the kernel into
# .cache/kernel-vm/ (scripts/ensure-kernel-vm.sh); skips, saying why, where that cannot be done.
# `make test` runs it too, after the other projects.
test-kernel: deps
	npx vitest run --project kernel --reporter=verbose

# One lab across two extra dockerds in network namespaces, in one swarm (scripts/multi-engine.sh):
# every verb through the CLI and an experiment across them, then everything removed. Root only;
# skips, saying why, elsewhere. `make test` runs it too (it is in the integration project).
test-multi-engine: engine build
	npx vitest run --project integration test/integration/multi-engine/ --reporter=verbose

clean:
	rm -rf dist
