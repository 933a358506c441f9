#!/usr/bin/env bash
# Set up this project on a fresh Debian or Ubuntu machine, idempotently:
#   1. system libraries with apt-get: Pango for WeasyPrint, HarfBuzz's subsetter
#      (fonts are subset 10-70x faster with it), poppler-utils and qpdf for the tests,
#      Chromium for the catalog's browser tests;
#   2. a virtual environment in .venv with the Python packages from pyproject.toml.
# `--build-only` (CI's build jobs) installs only what building needs: no test tools and
# no `test` extra.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Dockerfile installs build_packages too (tests/test_workflow.py keeps them in step).
python_packages=(python3 python3-venv)
build_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
test_packages=(poppler-utils qpdf chromium fonts-liberation fonts-dejavu-core)
extra="[test]"
case "${1:-}" in
  "") ;;
  --build-only) test_packages=(); extra="" ;;
  *) echo "usage: bash scripts/setup.sh [--build-only]" >&2; exit 2 ;;
esac

missing=()
for package in "${python_packages[@]}" "${build_packages[@]}" "${test_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# -c: the versions of requirements.lock, the ones the tests passed with (scripts/lock.sh)
.venv/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e ".$extra"
echo "setup: ready ($(.venv/bin/python -c 'import weasyprint; print("WeasyPrint", weasyprint.__version__)'))"
