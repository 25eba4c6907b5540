#!/usr/bin/env bash
# Benchmark for issue "Helm-compatible chart engine": render time of each
# real chart (and our corner-case chart), airlock vs helm-python-sdk (real
# Helm v4 in-process), in the same run. Also checks conformance first.
#
#   bench/render.sh      # prints "N of M documents identical" per chart and value set,
#                        # then best-of-5 render times and the ratio helm / airlock
#
# airlock's time includes starting the process and loading the chart from
# disk; helm-python-sdk's includes loading the chart, not starting Python.
source "$(dirname "$0")/common.sh"
target/venv/bin/python scripts/helm_conformance.py "$airlock" --bench
