#!/usr/bin/env bash
# Regenerate the locked requirements from requirements/*.in with uv (`make lock`; `make lock UPGRADE=1`).
#
# uv is installed into a throwaway virtualenv that is removed afterwards, so it never
# becomes a project dependency. It resolves for Python 3.11 with a hash for every file,
# keeping the versions already pinned unless --upgrade is given or an .in file needs
# another one. Package indexes come from your usual configuration (uv reads UV_INDEX_URL
# / UV_DEFAULT_INDEX and friends; nothing here names one).
set -euo pipefail

UV_VERSION="0.13.9"
cd "$(dirname "$0")/../requirements"

python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet "uv==${UV_VERSION}"

compile() {
    "$tmp/venv/bin/uv" pip compile --quiet --python-version 3.11 --generate-hashes --no-header "$@"
}
# base first: dev.in is constrained by base.txt, so the two locks agree on every shared package.
compile "$@" base.in -o base.txt
compile "$@" dev.in -o dev.txt
echo "Locked: requirements/base.txt, requirements/dev.txt (commit them; \`make run\`/\`make test\` reinstall)."
