#!/usr/bin/env bash
# Makes sure the kernel VM test (test/kernel/) can run: an emulator, a static busybox, a C compiler
# with a static libc, the helper's libraries, and a Debian kernel WITH sch_netem — which this
# machine's own kernel lacks. Called by the kernel test (and so by `make test` / `make test-kernel`).
#
#   host packages   qemu-system-x86, busybox-static, gcc + libc6-dev (static vmprobe), libnetfilter-queue-dev
#                   + libmnl-dev (acklab-nfq), iproute2 + iptables (their tc/ip/iptables go into the VM):
#                   apt-get install only when missing, as root on Debian/Ubuntu (like ensure-engine.sh);
#                   elsewhere it says what is missing.
#   kernel          the package linux-image-amd64 depends on, fetched with `apt-get download` from the
#                   machine's own apt sources and unpacked with `dpkg -x` into .cache/kernel-vm/<package>/
#                   (git-ignored): never installed, /boot and the host's initramfs are not touched.
#                   Only the module trees the VM can need are kept (net, crypto, lib, arch, drivers/net).
#
# Last line on success:  ensure-kernel-vm: ready: <kernel dir>
# When it cannot:        ensure-kernel-vm: cannot: <reason>   and exit status 3 (the test turns it into a skip).
# Any other failure exits 1.
#
# Environment (optional):
#   ACKLAB_KERNEL_VM_CACHE   cache folder (default <repo>/.cache/kernel-vm)
#   ACKLAB_KERNEL_PACKAGE    kernel package to use instead of what linux-image-amd64 depends on
#   ACKLAB_SKIP_HOST_PACKAGES=1   never install host packages (report what is missing instead)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${ACKLAB_KERNEL_VM_CACHE:-$PWD/.cache/kernel-vm}
META=linux-image-amd64

say() { echo "ensure-kernel-vm: $*" >&2; }
cannot() { echo "ensure-kernel-vm: cannot: $*"; exit 3; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

is_debian() {
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 && [ -r /etc/os-release ] || return 1
  local ids
  ids=$(. /etc/os-release && echo " ${ID:-} ${ID_LIKE:-} ")
  case "$ids" in *" debian "* | *" ubuntu "*) return 0 ;; esac
  return 1
}
is_debian_root() { [ "$(id -u)" = 0 ] && is_debian; }

package_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# What each host requirement is, how to tell it is there, and which package brings it.
have_qemu() { command -v qemu-system-x86_64 >/dev/null 2>&1; }
have_busybox_static() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }
have_static_cc() {
  local t
  t=$(mktemp -d)
  printf 'int main(void){return 0;}\n' >"$t/a.c"
  local ok=1
  cc -static -o "$t/a" "$t/a.c" >/dev/null 2>&1 || ok=0
  rm -rf "$t"
  [ "$ok" = 1 ]
}
have_nfq_dev() { [ -r /usr/include/libnetfilter_queue/libnetfilter_queue.h ] && [ -r /usr/include/libmnl/libmnl.h ]; }
have_net_tools() { [ -x /usr/sbin/tc ] && [ -x /usr/sbin/ip ] && { [ -x /usr/sbin/xtables-nft-multi ] || [ -x /usr/sbin/xtables-legacy-multi ]; }; }

host_packages() {
  local missing=()
  have_qemu || missing+=(qemu-system-x86)
  have_busybox_static || missing+=(busybox-static)
  have_static_cc || missing+=(gcc libc6-dev)
  have_nfq_dev || missing+=(libnetfilter-queue-dev libmnl-dev)
  have_net_tools || missing+=(iproute2 iptables)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "${ACKLAB_SKIP_HOST_PACKAGES:-}" = 1 ]; then
    cannot "missing host packages ${missing[*]} (ACKLAB_SKIP_HOST_PACKAGES=1, so not installing them)"
  fi
  if ! is_debian_root; then
    cannot "missing ${missing[*]}; this is not Debian/Ubuntu as root, so they are not installed here (install the equivalents: QEMU for x86-64, a static busybox, gcc with a static libc, libnetfilter_queue + libmnl headers, iproute2, iptables)"
  fi
  local start
  start=$(now)
  say "installing from the distribution: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || cannot "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || cannot "apt-get install ${missing[*]} failed"
  say "installed ${missing[*]} in $(elapsed "$start") s"
  have_qemu && have_busybox_static && have_static_cc && have_nfq_dev && have_net_tools \
    || cannot "installed ${missing[*]} but a requirement is still missing"
}

# A cached kernel is complete when its stamp exists (written last).
cached_kernel_dirs() { ls -d "$CACHE"/linux-image-*/ 2>/dev/null | while read -r d; do [ -e "$d/.ready" ] && echo "${d%/}"; done; }

# The versioned package the meta-package points at, from the apt lists (refreshed once if they are missing).
kernel_package() {
  if [ -n "${ACKLAB_KERNEL_PACKAGE:-}" ]; then echo "$ACKLAB_KERNEL_PACKAGE"; return 0; fi
  is_debian || return 1
  local pkg
  pkg=$(apt-cache depends "$META" 2>/dev/null | awk '/^ *Depends: linux-image-/ { print $2; exit }')
  if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
    say "no $META in the apt lists; running apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
    pkg=$(apt-cache depends "$META" 2>/dev/null | awk '/^ *Depends: linux-image-/ { print $2; exit }')
  fi
  [ -n "$pkg" ] && echo "$pkg"
}

fetch_kernel() {
  local pkg=$1 dir="$CACHE/$1" tmp start deb v
  start=$(now)
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the trap must remove this very folder
  trap "rm -rf '$tmp'" EXIT
  say "downloading $pkg (apt-get download from this machine's apt sources; not installed)"
  # As root, apt hands the download to the _apt user, who cannot write to a private temp folder.
  local sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
  local out
  out=$(cd "$tmp" && apt-get -qq "${sandbox[@]}" download "$pkg" 2>&1) \
    || cannot "apt-get download $pkg failed: $(echo "$out" | grep -v '^\s*$' | tail -n 1)"
  deb=$(ls "$tmp"/*.deb)
  dpkg -x "$deb" "$tmp/root" || cannot "dpkg -x $deb failed"
  ls "$tmp"/root/boot/vmlinuz-* >/dev/null 2>&1 || cannot "$pkg has no /boot/vmlinuz-*"
  # Keep what the VM can load: the network stack, crypto (crc32c for nf_tables), lib, arch, net drivers.
  for v in "$tmp"/root/lib/modules/*/; do
    find "$v/kernel" -mindepth 1 -maxdepth 1 ! -name net ! -name crypto ! -name lib ! -name arch ! -name drivers -exec rm -rf {} +
    find "$v/kernel/drivers" -mindepth 1 -maxdepth 1 ! -name net -exec rm -rf {} + 2>/dev/null || true
  done
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$tmp/root/boot" "$tmp/root/lib" "$dir/"
  basename "$deb" >"$dir/.package"
  touch "$dir/.ready"
  rm -rf "$tmp"
  trap - EXIT
  # Older kernels of earlier runs go; the one just fetched stays.
  for old in $(cached_kernel_dirs); do [ "$old" = "$dir" ] || rm -rf "$old"; done
  say "kernel $(basename "$deb") unpacked into $dir in $(elapsed "$start") s ($(du -sh "$dir" | cut -f1))"
}

main() {
  host_packages
  local pkg cached
  pkg=$(kernel_package || true)
  if [ -z "$pkg" ]; then
    cached=$(cached_kernel_dirs | tail -n 1)
    [ -n "$cached" ] || cannot "no kernel package: '$META' is not in this machine's apt lists (not Debian, or no apt sources) and nothing is cached in $CACHE"
    say "apt does not name a kernel package; using the cached $(basename "$cached")"
    echo "ensure-kernel-vm: ready: $cached"
    return 0
  fi
  if [ ! -e "$CACHE/$pkg/.ready" ]; then fetch_kernel "$pkg"; fi
  echo "ensure-kernel-vm: ready: $CACHE/$pkg"
}

main "$@"
