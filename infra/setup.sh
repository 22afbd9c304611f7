#!/usr/bin/env bash
# Installs and starts what Azusa needs on a Debian machine, and only what is missing:
#   the Docker engine (docker.io, dockerd started in the background), iptables, git, e2fsprogs and losetup
#   (size-limited workspace disks), poppler-utils and a Japanese font (task documents) and Node dependencies
#   (sharp brings its own libvips as npm packages); with --for-tests also PostgreSQL (a cluster
#   started, role "azusa" able to create test databases), the OpenSSH, PuTTY and dropbear clients,
#   asciinema, script, iproute2, openssl, nsenter, Chromium, a static busybox and nginx
#   (the several-processes test starts its own on loopback; the package's service is not started).
#   Safe to run again: a second run changes nothing.
set -euo pipefail

for_tests=false
quiet=false
for arg in "$@"; do
  case "$arg" in
    --for-tests) for_tests=true ;;
    --quiet) quiet=true ;;
    *) echo "usage: $0 [--for-tests] [--quiet]" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
say() { $quiet || echo "setup: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=false
need_pkg() { # need_pkg COMMAND PACKAGE: install PACKAGE when COMMAND is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing $2"
  if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# --- Docker engine --------------------------------------------------------------------------
need_pkg dockerd docker.io
# The egress fence of workspaces with an allow-list is made of iptables rules (docker.io brings it too).
need_pkg iptables iptables
# The built-in forge keeps every package's canonical repository with the real git.
need_pkg git git
# Task documents: an uploaded PDF is rendered to page images by poppler's pdfinfo and pdftoppm.
need_pkg pdftoppm poppler-utils
# Japanese glyphs: the watermark burned into a task document's pages names the person looking (the browser tests'
# screenshots of the pages need them too).
if ! dpkg -s fonts-ipafont-gothic >/dev/null 2>&1; then
  say "installing fonts-ipafont-gothic"
  if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipafont-gothic >/dev/null
fi
# Size-limited workspace volumes: ext4 in a sparse file (mkfs.ext4, debugfs) on a loop device (losetup).
need_pkg mkfs.ext4 e2fsprogs
need_pkg debugfs e2fsprogs
need_pkg losetup mount
if ! as_root docker info >/dev/null 2>&1; then
  say "starting dockerd"
  as_root mkdir -p /var/log
  as_root setsid nohup dockerd >/var/log/azusa-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    as_root docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  as_root docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/azusa-dockerd.log" >&2; exit 1; }
fi

# --- PostgreSQL and the clients the tests drive -----------------------------------------------
if $for_tests; then
  need_pkg ssh openssh-client
  need_pkg chromium chromium
  # The egress test stands up a network namespace as a machine beyond the host.
  need_pkg ip iproute2
  # The second Docker engine of the workspace-host tests: certificates made with openssl, entered with nsenter.
  need_pkg openssl openssl
  need_pkg nsenter util-linux
  # The SSH gateway's tests: PuTTY's plink and puttygen, dropbear's dbclient, asciinema to play recordings, script for a pty.
  need_pkg plink putty-tools
  need_pkg dbclient dropbear-bin
  need_pkg asciinema asciinema
  need_pkg script bsdutils
  # A static busybox lets the workspace tests build a tiny image without a registry.
  if ! dpkg -s busybox-static >/dev/null 2>&1; then
    say "installing busybox-static"
    if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  fi
  # Three Azusa processes behind a real load balancer: the test runs its own nginx, so the package's own
  # service is kept from starting (RUNLEVEL=1 makes invoke-rc.d skip it).
  if ! command -v nginx >/dev/null 2>&1; then
    say "installing nginx-light"
    if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
    as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq nginx-light >/dev/null
  fi
  need_pkg pg_ctlcluster postgresql
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! as_root pg_lsclusters -h | grep -q "^$version main"; then
    as_root pg_createcluster "$version" main >/dev/null
  fi
  if ! as_root pg_lsclusters -h | grep -q "^$version main .* online"; then
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster "$version" main start
  fi
  as_root runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='azusa'" | grep -q 1 ||
    as_root runuser -u postgres -- psql -qc "CREATE ROLE azusa LOGIN CREATEDB PASSWORD 'azusa'"
fi

# --- Node dependencies ------------------------------------------------------------------------
# Installed again only when the lock file's content changes: a fresh checkout (a git worktree sharing
# node_modules, a new clone) has a newer lock file but the same dependencies.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.bin/vitest ] || [ "$(cat node_modules/.azusa-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "installing Node dependencies (the first time compiles better-sqlite3, about 2 minutes)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.azusa-lock
fi
say "ready"
