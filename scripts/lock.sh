#!/usr/bin/env bash
# Write requirements.lock again: install the package with its test extra into a new,
# empty virtual environment (never .venv, which may hold more) and record every version.
# Run it after changing a dependency in pyproject.toml, then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check '.[test]'
{
  sed -n '/^#/p' requirements.lock
  "$venv/bin/python" -m pip freeze --exclude-editable | grep -v '^handoutkit'
} > requirements.lock.new
mv requirements.lock.new requirements.lock
echo "lock: $(grep -vc '^#' requirements.lock) packages pinned"
