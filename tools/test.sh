#!/usr/bin/env bash
# Sets up this machine and runs every check and test of the project. This is
# the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "setup"
bash tools/setup-machine.sh
source tools/env.sh

step "rustfmt"
cargo fmt --all --check

step "UI: TypeScript (strict), ESLint, component tests, build"
(cd ui && npm run --silent typecheck && npm run --silent lint && npx vitest run && npx vite build --logLevel warn)

step "rusqlite and sqlx link one libsqlite3-sys"
# The load (rusqlite) and the rest of the store (sqlx) open the same files;
# SQLite's locks only hold within one copy of the library (store/bulk.rs).
sqlite_users=$(cargo tree --locked -p provisio-engine -i libsqlite3-sys -e normal --depth 1 --prefix none | sort -u)
if [ "$(grep -c '^libsqlite3-sys ' <<<"$sqlite_users")" != 1 ] \
  || ! grep -q '^rusqlite ' <<<"$sqlite_users" || ! grep -q '^sqlx-sqlite ' <<<"$sqlite_users"; then
  printf 'rusqlite and sqlx must share one libsqlite3-sys; upgrade them together:\n%s\n' "$sqlite_users" >&2
  exit 1
fi

step "clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked --features provisio-desktop/custom-protocol -- -D warnings

step "engine and CLI tests (real SQLite, real keyring)"
tools/with-keyring.sh cargo test --locked -p provisio-engine -p provisio-cli -p provisio-workflow-api --lib --bins --tests

step "script host again on the cold path (new interpreters only, as on Windows)"
PROVISIO_COLD_START=1 tools/with-keyring.sh cargo test --locked -q -p provisio-engine --test engine -- \
  script_host hardening --skip warm

step "desktop shell tests (the test-only dialog answer is absent from a normal build)"
cargo test --locked -p provisio-desktop --features provisio-desktop/custom-protocol

step "desktop app build (with the end-to-end tests' dialog answer)"
cargo build --locked -p provisio-desktop -p provisio-cli -p esm-standin \
  --features provisio-desktop/custom-protocol,provisio-desktop/e2e-dialogs

step "the IPC bindings (ui/src/bindings.ts) are current"
"$CARGO_TARGET_DIR/debug/provisio-desktop" --export-bindings ui/src/bindings.ts
if [ -n "$(git status --porcelain -- ui/src/bindings.ts)" ]; then
  git --no-pager diff --stat -- ui/src/bindings.ts
  echo "ui/src/bindings.ts is stale: run '$CARGO_TARGET_DIR/debug/provisio-desktop --export-bindings ui/src/bindings.ts' and commit it" >&2
  exit 1
fi

step "end-to-end: CLI + desktop app in a real WebKit window"
PROVISIO_BIN="$CARGO_TARGET_DIR/debug/provisio" \
PROVISIO_DESKTOP_BIN="$CARGO_TARGET_DIR/debug/provisio-desktop" \
ESM_STANDIN_BIN="$CARGO_TARGET_DIR/debug/esm-standin" \
  tools/with-keyring.sh node --test --test-concurrency=1 tests/e2e/desktop.test.mjs

step "installable package: the .deb (Tauri bundler) unpacked into a scratch root and started"
deb=$(bash tools/build-deb.sh --debug | tail -n 1)
PROVISIO_DEB="$deb" tools/with-keyring.sh node --test --test-concurrency=1 tests/e2e/installed.test.mjs

step "all checks passed"
