#!/bin/sh
# Fail (exit 1) if any tracked C source or header differs from what
# clang-format makes of it with the repository's .clang-format; print the
# files and how to fix them. Used by .ci/run.
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "check-format: clang-format is not installed (apt-get install clang-format)" >&2
  exit 1
fi
bad=""
for f in $(git ls-files '*.c' '*.h'); do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad="$bad $f"
  fi
done
if [ -n "$bad" ]; then
  echo "check-format: these files are not clang-formatted:" >&2
  for f in $bad; do echo "  $f" >&2; done
  echo "fix with: clang-format -i$bad" >&2
  exit 1
fi
echo "check-format: $(git ls-files '*.c' '*.h' | wc -l) files formatted"
