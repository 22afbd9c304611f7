#!/usr/bin/env bash
# Builds the default workspace image without a registry: Debian bookworm by debootstrap, with git, bash,
# ca-certificates, OpenSSH's sftp-server and a non-root user "azusa" (uid 1000), imported into the local
# Docker engine.
#   infra/image/build-base.sh [TAG]     (default azusa/workspace-base:bookworm)
#   infra/image/build-base.sh --recipe  prints the recipe an image carries in its io.azusa.image.recipe label
# Progress goes to stderr; a second run rebuilds. Needs root (debootstrap) and a reachable Debian mirror.
set -euo pipefail

tag="${1:-azusa/workspace-base:bookworm}"
# The host's own Debian mirror when AZUSA_DEBIAN_MIRROR is unset: the first non-security URI of its apt sources
# (deb822 `URIs:` lines, then one-line `deb` entries), else deb.debian.org.
host_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
    grep -v -- '-security' | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; break } }' |
      grep -v -- '-security' | head -n 1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
mirror="${AZUSA_DEBIAN_MIRROR:-$(host_mirror)}"
# openssh-sftp-server: what the SSH gateway runs for SFTP when a template allows it
packages="git,bash,ca-certificates,less,procps,openssh-client,openssh-sftp-server"
recipe="bookworm minbase ${packages} user=azusa:1000 v1"
if [ "$tag" = "--recipe" ]; then echo "$recipe"; exit 0; fi

step() { echo "image: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v debootstrap >/dev/null 2>&1; then
  step "installing debootstrap"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

root="$(mktemp -d /tmp/azusa-image.XXXXXX)"
trap 'as_root rm -rf "$root"' EXIT

step "1/3 debootstrap bookworm (${packages}) from ${mirror}"
as_root debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" 2>&1 |
  while IFS= read -r line; do case "$line" in I:\ Retrieving*|I:\ Validating*) ;; *) echo "  $line" >&2 ;; esac; done
test "${PIPESTATUS[0]}" -eq 0

step "2/3 adding user azusa (1000:1000), trimming caches"
as_root chroot "$root" groupadd --gid 1000 azusa
as_root chroot "$root" useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash azusa
as_root chroot "$root" install -d -o 1000 -g 1000 /workspace
as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*

step "3/3 importing as ${tag}"
as_root tar -C "$root" --numeric-owner -c . | as_root docker import \
  --change 'USER azusa' \
  --change 'WORKDIR /workspace' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["sleep","infinity"]' \
  --change "LABEL io.azusa.image.recipe=\"${recipe}\"" \
  - "$tag" >/dev/null
step "built ${tag}"
