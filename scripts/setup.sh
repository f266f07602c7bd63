#!/usr/bin/env bash
# Set up polykeras with every CPU engine in ./.venv, then run the main job.
# Usage: bash scripts/setup.sh            (VENV=path to choose another place)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# torch==2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
"$venv/bin/python" -m pip install --quiet torch==2.13.0 -e '.[all,test,bench]'
if command -v apt-get >/dev/null && ! command -v dot >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get install -y -qq graphviz || { apt-get update -qq && apt-get install -y -qq graphviz; }; } >/dev/null 2>&1 \
    || echo "note: graphviz could not be installed; plot_model needs its 'dot' program"
fi
"$venv/bin/polykeras" info
"$venv/bin/python" examples/train_digits.py --save "${DIGITS_MODEL:-digits.pkeras}"
