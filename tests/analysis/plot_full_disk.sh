#!/bin/sh
# plot on a full disk (a 64 KiB tmpfs): one error line naming the PNG and
# "No space left on device", exit 1, no partial PNG left.  Needs root to
# mount the tmpfs: skipped (exit 77) otherwise.
# usage: plot_full_disk.sh COLOSSIM COLOSSIM_ANALYZE
set -u
colossim=$1; analyze=$2
tmp=$(mktemp -d); trap 'umount "$tmp/full" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/full"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=64k tmpfs "$tmp/full" 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs here"; exit 77
fi
"$colossim" run --out "$tmp/run.h5" --progress 0 > /dev/null 2>&1 || { echo "FAIL: run"; exit 1; }
"$analyze" plot "$tmp/run.h5" --out "$tmp/full/p" > "$tmp/out" 2> "$tmp/err"
rc=$?
cat "$tmp/err"
[ $rc -ne 0 ] || { echo "FAIL: exit 0 on a full disk"; exit 1; }
[ "$(grep -c 'error' "$tmp/err")" = 1 ] || { echo "FAIL: not one error line"; exit 1; }
grep -q "png: cannot write (No space left on device)" "$tmp/err" || { echo "FAIL: no 'No space left'"; exit 1; }
if ls "$tmp/full/p" | grep -q partial; then echo "FAIL: a partial PNG is left"; exit 1; fi
for f in "$tmp"/full/p/*.png; do
    [ -s "$f" ] || { echo "FAIL: empty $f"; exit 1; }
done
echo "PASS"
