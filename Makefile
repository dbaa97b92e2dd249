# Two entry points for a fresh machine (offline apart from the package registries):
#   make demo   set up, then rank the bundled sample data and print suggestions with reasons
#   make test   set up, then run every test
#   make serve  set up, then start the web app on 127.0.0.1:5000 with the sample event
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test serve clean

# Apache ECharts for the dashboard's charts: taken from the npm registry (version pinned in package.json
# and package-lock.json) and served from webapp/static/vendor, never from a CDN.
VENDOR := webapp/static/vendor

setup: $(VENV)/.installed $(VENDOR)/echarts.min.js

$(VENDOR)/echarts.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --silent
	mkdir -p $(VENDOR)
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	cp node_modules/echarts/LICENSE $(VENDOR)/echarts.LICENSE.txt
	cp node_modules/echarts/NOTICE $(VENDOR)/echarts.NOTICE.txt
	cp node_modules/zrender/LICENSE $(VENDOR)/zrender.LICENSE.txt

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# CPU build from the local wheel; a looser requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,notebooks,web,browser,cluster]'
	touch $@

demo: setup
	$(VENV)/bin/matcher demo

test: setup
	$(PY) -m pytest

# The web app on http://127.0.0.1:5000 with the sample event loaded and ranked.
serve: setup
	$(VENV)/bin/flask --app webapp load-sample
	WEBAPP_SESSION_COOKIE_SECURE=0 $(VENV)/bin/waitress-serve --host 127.0.0.1 --port 5000 --call webapp:create_app

clean:
	rm -rf $(VENV) out node_modules $(VENDOR)
