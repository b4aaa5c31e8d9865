#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine of the project's kind needs to
# build, run and test Provisio. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # Tauri / WebKitGTK desktop build
  libwebkit2gtk-4.1-dev build-essential file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config
  # headless window + WebDriver for end-to-end tests
  xvfb xauth webkit2gtk-driver
  # real OS keyring (Secret Service) for tests
  gnome-keyring libdbus-1-dev dbus dbus-x11 libsecret-tools
  # 7-Zip to check AES packages from outside; sshd for SFTP tests
  p7zip-full openssh-server
  # a real OpenLDAP server and its command-line tools for the directory connector's tests
  slapd ldap-utils
  # the directory benchmark's Python reference (the ldap3 package)
  python3-ldap3
  # a self-signed certificate for the workflow API's HTTPS test
  openssl
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # A private archive cache: another apt run on a shared machine can wipe the default one.
  CACHE="${PROVISIO_APT_CACHE:-/var/cache/provisio-apt}"
  $SUDO mkdir -p "$CACHE/partial"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 \
    -o Dir::Cache::archives="$CACHE" install -y -qq --no-install-recommends "${missing[@]}"
fi

# tauri-driver bridges WebDriver clients to WebKitWebDriver.
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.0.5
fi

# UI dependencies (npm ci cannot be used: see PLATFORM-NOTES / README).
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm install --no-audit --no-fund --loglevel=error)
fi

# The SFTP tests' server lets in one user, with no usable password until a
# test process sets a random one (crates/engine/tests/engine/sshd.rs).
if ! id provisio-sftp >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO useradd --create-home --shell /bin/sh provisio-sftp
fi

# Prism checks the ESM client's requests against the published OpenAPI description (tests only).
if [ ! -d tests/esm/node_modules ] || [ tests/esm/package-lock.json -nt tests/esm/node_modules/.package-lock.json ]; then
  (cd tests/esm && npm install --no-audit --no-fund --loglevel=error)
fi
