#!/bin/sh
# Build tests/arch/ctx_check.c with a context switch for another architecture
# and run it under qemu-user. Usage: check-arch.sh ARCH SRCDIR
# Exits 77 (ctest's "skipped") when the cross compiler or qemu is missing;
# .ci/run installs them (gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user).
set -eu
arch=$1
src=$2
case "$arch" in
  aarch64) cc=aarch64-linux-gnu-gcc qemu=qemu-aarch64 asm=ctx_aarch64.S ;;
  *) echo "check-arch: unknown architecture $arch" >&2; exit 2 ;;
esac
if ! command -v "$cc" >/dev/null 2>&1 || ! command -v "$qemu" >/dev/null 2>&1; then
  echo "check-arch: $cc or $qemu not installed; skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The symbol is hidden inside libgrove; the check links the file directly.
sed 's/\.hidden[[:space:]]*grove__ctx_switch//' "$src/hub/core/$asm" > "$tmp/ctx.S"
"$cc" -O2 -static "$src/tests/arch/ctx_check.c" "$tmp/ctx.S" -o "$tmp/ctx_check" -lm
"$qemu" "$tmp/ctx_check"
