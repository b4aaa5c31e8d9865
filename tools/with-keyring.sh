#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a headless, unlocked
# gnome-keyring (the real Secret Service), and private XDG dirs so tests never
# touch the user's own keyring. Usage: tools/with-keyring.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${PROVISIO_IN_KEYRING_SESSION:-}" ]; then
  tmp=$(mktemp -d /tmp/provisio-keyring.XXXXXX)
  mkdir -p "$tmp/data" "$tmp/cache" "$tmp/runtime"
  chmod 700 "$tmp/runtime"
  export XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime"
  export PROVISIO_IN_KEYRING_SESSION=1
  trap 'rm -rf "$tmp"' EXIT
  dbus-run-session -- "$0" "$@"
  exit $?
fi
# An empty unlock password creates no collection; any fixed test password works.
echo "provisio-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
