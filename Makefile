# coldvault.glacier — developer and CI entry points.
#   make demo   set up .venv, start the local Glacier endpoint, run the demo, stop the endpoint
#   make test   everything CI runs: sanity, lint, unit, endpoint, integration, changelog and packaging checks
#   make bench  the upload, restore and migrate benchmarks against the local endpoint (docs/benchmark.md)
#   make bench-role  the backup role at scale: a 10 GiB set and 100 hosts (docs/benchmark.md)
#   make floors sanity, unit and upload integration tests on the oldest declared ansible-core, amazon.aws, boto3
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

.PHONY: help venv tree sanity lint units endpoint-tests integration changelog-lint package test demo bench bench-catalog bench-role endpoint-start endpoint-stop clean

help:
	@sed -n 's/^#   //p' Makefile

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# A copy of the tracked (and not-ignored new) files, plus amazon.aws and community.aws (the backup role's bucket
# lifecycle rule) from the ansible bundle beside it.
tree: venv
	rm -rf $(BUILD)/ansible_collections
	mkdir -p $(COLL) $(BUILD)/ansible_collections/amazon $(BUILD)/ansible_collections/community
	git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do \
	  [ -e "$$f" ] && printf '%s\0' "$$f"; done | tar --null -T - -cf - | tar -xf - -C $(COLL)
	cp -a $(SITE)/ansible_collections/amazon/aws $(BUILD)/ansible_collections/amazon/aws
	cp -a $(SITE)/ansible_collections/community/aws $(BUILD)/ansible_collections/community/aws

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
	@# What ships and what does not: galaxy.yml's build_ignore, as README.md ("What the collection tarball contains") says.
	tar -tzf $(BUILD)/dist/coldvault-glacier-*.tar.gz | python -c 'import sys; names = set(sys.stdin.read().split()); \
	  missing = {"bindep.txt", "requirements.txt", "meta/execution-environment.yml", "docs/docsite/extra-docs.yml", \
	             "playbooks/backup.yml", "tests/endpoint/endpoint-ctl"} - names; \
	  extra = sorted(n for n in names if n.split("/")[0] in ("Makefile", "requirements-dev.txt", ".ci") \
	                 or n.startswith(("tests/benchmark", "playbooks/demo.yml"))); \
	  (missing or extra) and sys.exit("package: the tarball lacks %s and has %s" % (sorted(missing), extra))'
	@echo "package: built and installed $$(basename $(BUILD)/dist/coldvault-glacier-*.tar.gz)"

endpoint-start: venv
	$(ENDPOINT) start $(ENDPOINT_DIR)

endpoint-stop:
	$(ENDPOINT) stop $(ENDPOINT_DIR)

test: sanity lint units endpoint-tests integration changelog-lint package
	@echo "make test: all checks passed"

# Speed and memory targets of docs/benchmark.md (about 5 minutes, ~10 GiB of scratch files in BENCH_DIR;
# BENCH_ARGS=--quick for a one-minute smoke run). The peer it is compared with goes into .venv first.
BENCH_DIR ?= /tmp/coldvault-glacier-bench
$(VENV)/.bench-installed: tests/benchmark/requirements.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/benchmark/requirements.txt
	touch $@
bench: tree $(VENV)/.bench-installed
	@# Every bench runs even when an earlier one misses a target; the exit status reports any miss.
	cd $(COLL) || exit 1; export PYTHONPATH=$(BUILD) ANSIBLE_COLLECTIONS_PATH=$(BUILD); status=0; \
	python tests/benchmark/transfer_bench.py \
	  --workdir $(BENCH_DIR) --json $(BENCH_DIR)/results.json --chart $(BENCH_DIR)/benchmark.svg $(BENCH_ARGS) || status=1; \
	python tests/benchmark/s3_transfer_bench.py --workdir $(BENCH_DIR) --json $(BENCH_DIR)/s3-upload.json \
	  $(if $(filter --quick,$(BENCH_ARGS)),--size-mib 64 --wan-size-mib 32 --rss-size-mib 256) || status=1; \
	python tests/benchmark/s3_restore_bench.py --workdir $(BENCH_DIR) --json $(BENCH_DIR)/s3-restore.json $(BENCH_ARGS) || status=1; \
	python tests/benchmark/migrate_bench.py \
	  --workdir $(BENCH_DIR) --json $(BENCH_DIR)/migrate.json $(filter --quick,$(BENCH_ARGS)) || status=1; \
	exit $$status

# Fact gathering and an upload's record with a 100k-record history (docs/benchmark.md, "The catalog"; ~5 minutes).
CATALOG_BENCH_DIR ?= /tmp/coldvault-glacier-bench-catalog
bench-catalog: tree
	cd $(COLL) && PYTHONPATH=$(BUILD) ANSIBLE_COLLECTIONS_PATH=$(BUILD) python tests/benchmark/catalog_bench.py \
	  --workdir $(CATALOG_BENCH_DIR) --json $(CATALOG_BENCH_DIR).json $(BENCH_ARGS)

# The backup role at scale (docs/benchmark.md, "The backup role at scale"): a 10 GiB set and a 100-host fleet against
# the local endpoint. About 30 minutes on a busy 2-core machine, ~30 GiB of scratch files in ROLE_BENCH_DIR.
ROLE_BENCH_DIR ?= /tmp/coldvault-glacier-bench-role
bench-role: tree
	cd $(COLL) && ANSIBLE_COLLECTIONS_PATH=$(BUILD) python tests/benchmark/role_scale_bench.py \
	  --workdir $(ROLE_BENCH_DIR) --json $(ROLE_BENCH_DIR)/results.json $(BENCH_ARGS)

demo: tree
	$(MAKE) --no-print-directory endpoint-start
	trap '$(ENDPOINT) stop $(ENDPOINT_DIR)' EXIT; \
	  cd $(COLL) && GLACIER_ENDPOINT_URL=http://127.0.0.1:$$(cat $(ENDPOINT_DIR)/port) DEMO_DIR=$(BUILD)/demo \
	  ANSIBLE_COLLECTIONS_PATH=$(BUILD) ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
	  ansible-playbook playbooks/demo.yml

clean:
	-$(MAKE) --no-print-directory endpoint-stop
	rm -rf $(BUILD) .pytest_cache

# The declared floors: meta/runtime.yml's requires_ansible, galaxy.yml's amazon.aws, requirements.txt's boto3 and
# botocore, each at its lowest version, in a venv and a tree of their own under $(FLOORS). sanity and integration
# are the targets above, run by a sub-make with BUILD and VENV pointing there.
# No ansible bundle pairs ansible-core 2.17 with amazon.aws 9 (ansible 10.x carries amazon.aws 8.x) and Galaxy is
# out of reach, so amazon.aws comes out of a bundle that carries the floor version (checked), here ansible 11.6.0.
# amazon.aws 9.5.0 is the floor: older AnsibleAWSModule objects do not pass atomic_move and the other AnsibleModule
# methods the modules call through to the AnsibleModule they wrap.
FLOOR_ANSIBLE_CORE ?= 2.17.0
FLOOR_AMAZON_AWS ?= 9.5.0
FLOOR_AMAZON_AWS_BUNDLE ?= 11.6.0
FLOOR_TARGETS ?= upload
FLOOR_BOTO3 ?= 1.34.0
FLOORS := $(BUILD)/floors
FLOOR_VENV := $(FLOORS)/venv
FLOOR_BIN := $(FLOOR_VENV)/bin
FLOOR_MARK := $(FLOOR_VENV)/.floors-$(FLOOR_ANSIBLE_CORE)-$(FLOOR_AMAZON_AWS)-$(FLOOR_BOTO3)

.PHONY: floors
# The marker names the versions, so changing one rebuilds the venv. It also depends on requirements-dev.txt, and
# touches .installed, so that the sub-makes' `venv` prerequisite is up to date and never installs the development
# requirements into the floor venv.
$(FLOOR_MARK): requirements.txt requirements-dev.txt tests/unit/requirements.txt
	rm -rf $(FLOOR_VENV) $(FLOORS)/bundle
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_BIN)/python -m pip install --quiet --disable-pip-version-check "ansible-core==$(FLOOR_ANSIBLE_CORE)" \
	  "boto3==$(FLOOR_BOTO3)" "botocore==$(FLOOR_BOTO3)" -r requirements.txt -r tests/unit/requirements.txt pytest-xdist
	$(FLOOR_BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --dest $(FLOORS)/bundle \
	  "ansible==$(FLOOR_AMAZON_AWS_BUNDLE)"
	$(FLOOR_BIN)/python -c 'import json, sys, sysconfig, zipfile; \
	  z = zipfile.ZipFile(sys.argv[1]); prefix = "ansible_collections/amazon/aws/"; \
	  v = json.loads(z.read(prefix + "MANIFEST.json"))["collection_info"]["version"]; \
	  v == sys.argv[2] or sys.exit("%s carries amazon.aws %s, not %s" % (sys.argv[1], v, sys.argv[2])); \
	  z.extractall(sysconfig.get_paths()["purelib"], [n for n in z.namelist() \
	    if n.startswith((prefix, "ansible_collections/community/aws/"))])' \
	  $(FLOORS)/bundle/ansible-$(FLOOR_AMAZON_AWS_BUNDLE)-py3-none-any.whl $(FLOOR_AMAZON_AWS)
	touch $(FLOOR_VENV)/.installed $@

floors: $(FLOOR_MARK)
	@echo "floors: $$($(FLOOR_BIN)/python -c 'import ansible.release, boto3; \
	  print("ansible-core", ansible.release.__version__, "boto3", boto3.__version__)'), amazon.aws $(FLOOR_AMAZON_AWS)"
	$(MAKE) --no-print-directory sanity BUILD=$(FLOORS) VENV=$(FLOOR_VENV)
	cd $(FLOORS)/ansible_collections/coldvault/glacier && PATH=$(FLOOR_BIN):$$PATH \
	  ansible-test units --local --python 3.11 --color no
	$(MAKE) --no-print-directory integration BUILD=$(FLOORS) VENV=$(FLOOR_VENV) TARGETS="$(FLOOR_TARGETS)"
	@echo "make floors: all checks passed"
