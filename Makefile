# acklab — the two commands a new user needs: `make lab` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json

.PHONY: help deps build engine images lab test test-unit test-integration bench typecheck clean

help:
	@echo "make lab    - set everything up and run the main lab experiment"
	@echo "make test   - set everything up and run every test"
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

typecheck: deps
	npx tsc -p tsconfig.test.json

test: build typecheck
	ACKLAB_EXTRA_HOST_PACKAGES=chromium scripts/ensure-engine.sh
	npx vitest run

test-unit: build
	npx vitest run --project unit

test-integration: engine build
	npx vitest run --project integration

clean:
	rm -rf dist
