# The one place for project commands. A newcomer needs two:
#   make serve   set everything up, then serve the bundled data on http://127.0.0.1:8000
#   make test    set everything up, then lint, type-check and run the whole test suite
# Both are idempotent; a second run skips what is already installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .nuanxin/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
# Debian packages the project needs on the machine (PostgreSQL 15 + PostGIS 3 on Debian 12);
# the tests also drive Debian's Chromium (Playwright, no browser download), need CJK fonts, and
# read the OGC API with GDAL's own client (ogrinfo, from gdal-bin).
APT_PACKAGES := postgresql postgresql-15-postgis-3
TEST_APT_PACKAGES := chromium fonts-noto-cjk gdal-bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Byte-compile at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process
# would otherwise recompile every module it imports (~2 s per `nuanxin` run).
export UV_COMPILE_BYTECODE := 1

.PHONY: help setup system-packages test-packages python-env serve test lint

# $(call apt_ensure,packages): install those not yet installed; a no-op on a second run.
define apt_ensure
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

system-packages:  ## apt-get install PostgreSQL + PostGIS if missing (needs root)
	$(call apt_ensure,$(APT_PACKAGES))

test-packages:  ## apt-get install Chromium and CJK fonts for the browser tests if missing
	$(call apt_ensure,$(TEST_APT_PACKAGES))

$(UV):
	@python3 -m venv $(TOOLS) 2>/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "python3-venv missing; install it as root" >&2; exit 1; }; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; \
	  python3 -m venv $(TOOLS); }
	$(TOOLS)/bin/python -m pip install -q "uv==$(UV_VERSION)"

python-env: $(UV)  ## the locked Python dependencies in .venv (uv sync --frozen)
	@$(UV) sync --frozen --quiet

setup: system-packages python-env  ## everything both commands need

serve: setup  ## the main job: local PostGIS, migrations, bundled data, API on :8000
	$(VENV)/bin/nuanxin up

lint: python-env  ## ruff, mypy, the import contracts and the declared dependencies
	$(VENV)/bin/ruff check geo api maps cli tests bench data
	$(VENV)/bin/ruff format --check geo api maps cli tests bench data
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache  # the arrows of docs/architecture.md (pyproject.toml)
	$(VENV)/bin/deptry .  # every third-party import a declared dependency

test: setup test-packages lint  ## lint, then the whole pytest suite against a real PostGIS
	$(VENV)/bin/python -m pytest
