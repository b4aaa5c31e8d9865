#!/usr/bin/env bash
# Sets up this machine, builds the UI and the desktop app, and starts it on
# the embedded default (SQLite in the user's data directory, local datacard
# store). PROVISIO_DATA_DIR chooses another data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-machine.sh
source tools/env.sh
(cd ui && npm run build)
cargo build -p provisio-desktop -p provisio-cli --features provisio-desktop/custom-protocol
echo "CLI: $CARGO_TARGET_DIR/debug/provisio"
exec "$CARGO_TARGET_DIR/debug/provisio-desktop"
