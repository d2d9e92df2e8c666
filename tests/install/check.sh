#!/bin/sh
# tests/install/check.sh BUILD_DIR SOURCE_DIR
# Install the build into a temporary prefix, then build a consumer program
# with find_package(grove) (shared and static) and with pkg-config, and run
# each. This is what `cmake --install` promises users.
set -eu
build=$1
here=$2/tests/install
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/grove.h include/grove/greenlet.h lib/pkgconfig/grove.pc lib/cmake/grove/groveConfig.cmake; do
  found=$(find "$tmp/prefix" -path "*$f" | head -n 1)
  [ -n "$found" ] || { echo "install: $f missing"; exit 1; }
done
if find "$tmp/prefix/include" -name 'internal.h' | grep -q .; then
  echo "install: an internal header was installed"; exit 1
fi
cmake -S "$here" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH=$(dirname "$(find "$tmp/prefix" -name 'libgrove.so' | head -n 1)") "$tmp/consumer/consumer_shared"
"$tmp/consumer/consumer_static"
pc=$(dirname "$(find "$tmp/prefix" -name grove.pc | head -n 1)")
PKG_CONFIG_PATH=$pc cc "$here/consumer.c" -o "$tmp/pc_consumer" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs grove)
LD_LIBRARY_PATH=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir grove) "$tmp/pc_consumer"
PKG_CONFIG_PATH=$pc cc "$here/consumer.c" -o "$tmp/pc_static" $(PKG_CONFIG_PATH=$pc pkg-config --static --cflags grove) \
  "$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir grove)/libgrove.a" $(PKG_CONFIG_PATH=$pc pkg-config --static --libs-only-l grove | sed 's/-lgrove//')
"$tmp/pc_static"
# grove-patch: the library, its pkg-config file and CMake target.
for f in lib/pkgconfig/grove-patch.pc include/grove/patch.h; do
  [ -n "$(find "$tmp/prefix" -path "*$f" | head -n 1)" ] || { echo "install: $f missing"; exit 1; }
done
libdir=$(dirname "$(find "$tmp/prefix" -name 'libgrove-patch.so' | head -n 1)")
LD_LIBRARY_PATH=$libdir "$tmp/consumer/consumer_patch"
PKG_CONFIG_PATH=$pc cc "$here/patch_consumer.c" -o "$tmp/pc_patch" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs grove-patch)
LD_LIBRARY_PATH=$libdir "$tmp/pc_patch"
# grove-top (when ncurses was found at configure time): installed as a
# program that runs on its own (linked statically with grove).
if [ -x "$build/tools/grove-top" ]; then
  [ -x "$tmp/prefix/bin/grove-top" ] || { echo "install: bin/grove-top missing"; exit 1; }
  "$tmp/prefix/bin/grove-top" --help | grep -q "usage: grove-top" || { echo "install: grove-top --help failed"; exit 1; }
fi
