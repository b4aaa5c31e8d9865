#!/usr/bin/env bash
# The desktop app's scale benchmark (issue #14): seeds a data directory with
# 10,000 connectors and tasks and 100,000 history rows, then measures the
# release build in a real window (bench/ui-scale.mjs). Not part of CI: it
# builds the release binary (~10 minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
(cd ui && npx vite build --logLevel warn)
cargo build --release --locked -p provisio-desktop --features provisio-desktop/custom-protocol
cargo build --release --locked -p provisio-cli --example seed_ui_scale
data=$(mktemp -d /tmp/provisio-ui-scale-XXXXXX)
trap 'rm -rf "$data"' EXIT
tools/with-keyring.sh "$CARGO_TARGET_DIR/release/examples/seed_ui_scale" "$data" "${CONNECTORS:-10000}" "${RUNS_PER_TASK:-10}"
PROVISIO_DESKTOP_BIN="$CARGO_TARGET_DIR/release/provisio-desktop" DATA_DIR="$data" \
  tools/with-keyring.sh node bench/ui-scale.mjs
