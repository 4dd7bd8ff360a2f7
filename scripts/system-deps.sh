#!/usr/bin/env bash
# Debian packages the tests use, installed when missing (README "make test"):
#   busybox-static  a real static binary for `vmksim elf check`
#   chromium        headless browser that renders the HTML report in the tests
#   vmfs6-tools     debugvmfs6, an independent VMFS6 reader the VMFS tests cross-check against
# Without root or apt-get nothing is installed; the tests that need a tool then
# skip with a message naming it.
set -u
want=()
command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || want+=(busybox-static)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v debugvmfs6 >/dev/null 2>&1 || want+=(vmfs6-tools)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root or no apt-get; tests needing ${want[*]} will skip" >&2
  exit 0
fi
echo "system-deps: installing ${want[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
  || echo "system-deps: could not install ${want[*]}; the tests needing them will skip" >&2
exit 0
