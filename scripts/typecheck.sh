#!/usr/bin/env bash
# mypy (default settings, pyproject's [tool.mypy]) over netwatch/, collectors/ and exporters/.
# collectors/ and exporters/ install as netwatch.collectors and netwatch.exporters (setup.py's
# package_dir), which mypy cannot map from the source tree: it checks a tree of symlinks laid
# out as the installed package, and paths in its report are the repository's own.
# Arguments are paths as in the repository or the tree (collectors/x or netwatch/collectors/x;
# default: all of it, `netwatch`); a path below another one given would be found twice (mypy's
# "Duplicate module"), so it is dropped.
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
given=()
for target in "${@:-netwatch}"; do
  target=${target%/}
  case "$target" in
    collectors | collectors/* | exporters | exporters/* | configs | configs/*) target=netwatch/$target ;;
  esac
  given+=("$target")
done
targets=()
for target in "${given[@]}"; do
  covered=
  for other in "${given[@]}"; do
    if [[ "$target" == "$other"/* ]]; then covered=1; fi
  done
  if [[ -z "$covered" ]]; then targets+=("$target"); fi
done
cd "$tree"
set +e
"$repo/.venv/bin/mypy" --config-file "$repo/pyproject.toml" --cache-dir "$repo/.mypy_cache" \
  "${targets[@]}" >"$tree/out" 2>&1
rc=$?
set -e
sed -e 's#^netwatch/collectors/#collectors/#' -e 's#^netwatch/exporters/#exporters/#' \
  -e 's#^netwatch/configs/#configs/#' "$tree/out"
exit $rc
