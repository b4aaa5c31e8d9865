#!/usr/bin/env bash
# Builds the Linux .deb of the desktop app with the Tauri bundler (the
# `@tauri-apps/cli` npm package, installed with the UI's packages). The
# package installs /usr/bin/provisio-desktop (with its menu entry and icon)
# and the `provisio` CLI beside it, and depends on WebKitGTK and python3.
#
#   bash tools/build-deb.sh          release build (the one to ship)
#   bash tools/build-deb.sh --debug  reuses the debug build (what tools/test.sh checks)
#
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh

profile=release
cargo_flags=(--release)
bundle_flags=()
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  cargo_flags=()
  bundle_flags=(--debug)
fi

[ -x ui/node_modules/.bin/tauri ] || bash tools/setup-machine.sh
(cd ui && npx vite build --logLevel warn)
# The same packages as tools/test.sh's desktop build, so a debug bundle reuses that build as is.
cargo build --locked "${cargo_flags[@]}" -p provisio-desktop -p provisio-cli -p esm-standin \
  --features provisio-desktop/custom-protocol

node tools/bundle-config.mjs "$CARGO_TARGET_DIR/$profile/provisio" > src-tauri/tauri.conf.json
# Old bundles would be picked up by a glob below; the bundler writes a fresh one.
rm -rf "$CARGO_TARGET_DIR/$profile/bundle/deb"
(cd ui && TAURI_APP_PATH="$PWD/../src-tauri" TAURI_FRONTEND_PATH="$PWD" \
  npx tauri bundle --ci --bundles deb "${bundle_flags[@]}" --features custom-protocol)
deb=$(ls "$CARGO_TARGET_DIR/$profile/bundle/deb/"*.deb)
echo "$deb"
