# coldvault.glacier — developer and CI entry points.
#   make demo   set up .venv, start the local Glacier endpoint, run the demo, stop the endpoint
#   make test   everything CI runs: sanity, lint, unit, endpoint, integration, changelog and packaging checks
#   make bench  the upload benchmark against the local endpoint (docs/benchmark.md)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# Outside the clone: ansible-test would see an ignored folder inside a git checkout as empty.
BUILD := /tmp/coldvault-glacier-$(shell printf %s "$(CURDIR)" | md5sum | cut -c1-8)
# ansible-test only works on a tree laid out as ansible_collections/<namespace>/<name>.
COLL := $(BUILD)/ansible_collections/coldvault/glacier
SITE = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ENDPOINT_DIR := $(BUILD)/endpoint
ENDPOINT := tests/endpoint/endpoint-ctl
export PATH := $(BIN):$(PATH)
export ANSIBLE_NOCOLOR := 1
export NO_COLOR := 1

.PHONY: help venv tree sanity lint units endpoint-tests integration changelog-lint package test demo bench bench-catalog endpoint-start endpoint-stop clean

help:
	@sed -n 's/^#   //p' Makefile

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# A copy of the tracked (and not-ignored new) files, plus amazon.aws from the ansible bundle beside it.
tree: venv
	rm -rf $(BUILD)/ansible_collections
	mkdir -p $(COLL) $(BUILD)/ansible_collections/amazon
	git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do \
	  [ -e "$$f" ] && printf '%s\0' "$$f"; done | tar --null -T - -cf - | tar -xf - -C $(COLL)
	cp -a $(SITE)/ansible_collections/amazon/aws $(BUILD)/ansible_collections/amazon/aws

sanity: tree
	bash .ci/pip-bootstrap-shim.sh
	cd $(COLL) && ansible-test sanity --local --python 3.11 --color no

lint: tree
	cd $(COLL) && ANSIBLE_COLLECTIONS_PATH=$(BUILD) ansible-lint --profile production --offline

units: tree
	cd $(COLL) && PYTHONPATH=$(BUILD) python -m pytest -q -p no:cacheprovider tests/unit

endpoint-tests: venv
	python -m pytest -q -p no:cacheprovider tests/endpoint

# Integration targets talk to the local endpoint; ansible-test hands its URL to them via integration_config.yml.
integration: tree
	$(MAKE) --no-print-directory endpoint-start
	trap '$(ENDPOINT) stop $(ENDPOINT_DIR)' EXIT; \
	  printf 'glacier_endpoint_url: http://127.0.0.1:%s\n' "$$(cat $(ENDPOINT_DIR)/port)" > $(COLL)/tests/integration/integration_config.yml; \
	  cd $(COLL) && ansible-test integration --local --python 3.11 --color no $(TARGETS)

changelog-lint: venv
	antsibull-changelog lint

package: tree
	rm -rf $(BUILD)/dist $(BUILD)/installed
	cd $(COLL) && ansible-galaxy collection build --output-path $(BUILD)/dist
	ansible-galaxy collection install --offline --no-deps -p $(BUILD)/installed $(BUILD)/dist/coldvault-glacier-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed:$(SITE) ansible-doc coldvault.glacier.upload > /dev/null
	@echo "package: built and installed $$(basename $(BUILD)/dist/coldvault-glacier-*.tar.gz)"

endpoint-start: venv
	$(ENDPOINT) start $(ENDPOINT_DIR)

endpoint-stop:
	$(ENDPOINT) stop $(ENDPOINT_DIR)

test: sanity lint units endpoint-tests integration changelog-lint package
	@echo "make test: all checks passed"

# Speed and memory targets of docs/benchmark.md (about 3 minutes, ~8 GiB of scratch files in BENCH_DIR).
BENCH_DIR ?= /tmp/coldvault-glacier-bench
bench: tree
	cd $(COLL) && PYTHONPATH=$(BUILD) ANSIBLE_COLLECTIONS_PATH=$(BUILD) python tests/benchmark/transfer_bench.py \
	  --workdir $(BENCH_DIR) --json $(BENCH_DIR)/results.json $(BENCH_ARGS)

# Fact gathering and an upload's record with a 100k-record history (docs/benchmark.md, "The catalog"; ~5 minutes).
CATALOG_BENCH_DIR ?= /tmp/coldvault-glacier-bench-catalog
bench-catalog: tree
	cd $(COLL) && PYTHONPATH=$(BUILD) ANSIBLE_COLLECTIONS_PATH=$(BUILD) python tests/benchmark/catalog_bench.py \
	  --workdir $(CATALOG_BENCH_DIR) --json $(CATALOG_BENCH_DIR).json $(BENCH_ARGS)

demo: tree
	$(MAKE) --no-print-directory endpoint-start
	trap '$(ENDPOINT) stop $(ENDPOINT_DIR)' EXIT; \
	  cd $(COLL) && GLACIER_ENDPOINT_URL=http://127.0.0.1:$$(cat $(ENDPOINT_DIR)/port) DEMO_DIR=$(BUILD)/demo \
	  ANSIBLE_COLLECTIONS_PATH=$(BUILD) ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
	  ansible-playbook playbooks/demo.yml

clean:
	-$(MAKE) --no-print-directory endpoint-stop
	rm -rf $(BUILD) .pytest_cache
