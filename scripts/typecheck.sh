#!/usr/bin/env bash
# mypy (default settings, pyproject's [tool.mypy]) over collectors/, exporters/ and netwatch/core/.
# collectors/ and exporters/ install as netwatch.collectors and netwatch.exporters (setup.py's
# package_dir), which mypy cannot map from the source tree: it checks a tree of symlinks laid
# out as the installed package, and paths in its report are the repository's own.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/netwatch"
for entry in netwatch/*; do ln -s "$repo/$entry" "$tree/netwatch/"; done
ln -s "$repo/collectors" "$tree/netwatch/collectors"
ln -s "$repo/exporters" "$tree/netwatch/exporters"
ln -s "$repo/configs" "$tree/netwatch/configs"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(netwatch/collectors netwatch/exporters netwatch/core)
fi
cd "$tree"
set +e
"$repo/.venv/bin/mypy" --config-file "$repo/pyproject.toml" --cache-dir "$repo/.mypy_cache" \
  "${targets[@]}" >"$tree/out" 2>&1
rc=$?
set -e
sed -e 's#^netwatch/collectors/#collectors/#' -e 's#^netwatch/exporters/#exporters/#' \
  -e 's#^netwatch/configs/#configs/#' "$tree/out"
exit $rc
