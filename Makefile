# One entry point per job. Everything is installed into .venv by the project itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench peer peer-rest clean tools

# Tools the integration tests run the tap with, each in its own virtualenv (their dependencies
# conflict with each other and with the tap's): Singer tools, and pgserver, whose wheel carries the
# PostgreSQL server binaries that tests/integration/pg_server.sh runs (no root, no system package).
# Bump a pin here to reinstall it.
TOOLS_DIR := .venv-tools
TOOL_PINS := singer-tools==0.4.1 meltano==4.4.1 pipelinewise-target-postgres==2.1.2 \
             meltanolabs-target-csv==0.5.0 target-jsonl==0.1.4 pgserver==0.1.4
TOOL_STAMPS := $(foreach p,$(TOOL_PINS),$(TOOLS_DIR)/$(subst ==,/.installed-,$(p)))

install: $(STAMP)

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip uninstall --quiet -y tap-listrak-soap  # the distribution's former name, in an older .venv
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/python -m tests.demo

tools: $(TOOL_STAMPS)

define TOOL_RULE
$(TOOLS_DIR)/$(1)/.installed-$(2):
	rm -rf $(TOOLS_DIR)/$(1)
	$(PYTHON) -m venv $(TOOLS_DIR)/$(1)
	$(TOOLS_DIR)/$(1)/bin/pip install --quiet --upgrade pip
	$(TOOLS_DIR)/$(1)/bin/pip install --quiet '$(1)==$(2)'
	touch $$@
endef
$(foreach p,$(TOOL_PINS),$(eval $(call TOOL_RULE,$(word 1,$(subst ==, ,$(p))),$(word 2,$(subst ==, ,$(p))))))

test: install tools
	$(BIN)/python -m pytest -q

# The tests not marked slow: unit and emulator tests, and the few quick end-to-end runs of the
# executable in tests/e2e/test_sync.py.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

# The published singer-io tap `make bench` compares with, in its own virtualenv (never imported
# by the tap: bench/peer.py runs it with that virtualenv's python). Bump the pin to reinstall it.
PEER_PIN   := tap-listrak==1.1.0
PEER_DIR   := $(TOOLS_DIR)/$(subst ==,-,$(PEER_PIN))
PEER_STAMP := $(PEER_DIR)/.installed

# The published REST tap (singer-io's 2.0.x line) `make bench` compares the REST side with, likewise
# in its own virtualenv and run by bench/peer_rest.py, which points it at the REST emulator.
REST_PEER_PIN   := tap-listrak==2.0.8
REST_PEER_DIR   := $(TOOLS_DIR)/$(subst ==,-,$(REST_PEER_PIN))
REST_PEER_STAMP := $(REST_PEER_DIR)/.installed

peer: $(PEER_STAMP) $(REST_PEER_STAMP)

$(PEER_STAMP):
	rm -rf $(PEER_DIR)
	$(PYTHON) -m venv $(PEER_DIR)
	$(PEER_DIR)/bin/pip install --quiet --upgrade pip
	$(PEER_DIR)/bin/pip install --quiet '$(PEER_PIN)'
	touch $@

peer-rest: $(REST_PEER_STAMP)

$(REST_PEER_STAMP):
	rm -rf $(REST_PEER_DIR)
	$(PYTHON) -m venv $(REST_PEER_DIR)
	$(REST_PEER_DIR)/bin/pip install --quiet --upgrade pip
	$(REST_PEER_DIR)/bin/pip install --quiet '$(REST_PEER_PIN)'
	touch $@

# make bench BENCH_ARGS=--quick for a smaller account, BENCH_ARGS=--rest-only for the REST comparison
# alone; --help lists the options.
# The tap's bytecode is compiled first, as a pip install of it would be: an editable install run
# with PYTHONDONTWRITEBYTECODE set would otherwise compile every module on every run it measures.
bench: install $(PEER_STAMP) $(REST_PEER_STAMP)
	$(BIN)/python -m compileall -q tap_listrak
	$(BIN)/python -m bench.run --peer-python $(PEER_DIR)/bin/python \
		--rest-peer-python $(REST_PEER_DIR)/bin/python $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS_DIR) demo-output bench/results *.egg-info
