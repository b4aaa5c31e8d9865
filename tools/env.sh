# Shared by tools/*.sh: where build output goes. Kept outside the clone so a
# second clone (or CI on the same machine) reuses compiled dependencies; a
# fresh machine simply builds everything. Override with CARGO_TARGET_DIR.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provisio/target}"
mkdir -p "$CARGO_TARGET_DIR"
