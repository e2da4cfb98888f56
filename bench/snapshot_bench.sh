#!/usr/bin/env bash
# Snapshot export benchmark (issue 4): hostsync snapshot_export (deterministic tar,
# plaintext SHA-256, age encryption, ciphertext SHA-256, fsync) against
# `tar --sort=name ... | age -r KEY`, which computes no hash at all, in the same run.
#
#   bench/snapshot_bench.sh [WORK_DIR] [FILES] [TOTAL_MB]     (defaults /tmp/snapshot-bench 2000 900)
#
# Never run in CI. Drops the page cache before each timed run when allowed (root).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
hostsync=${HOSTSYNC:-$here/build/hostsync}
work=${1:-/tmp/snapshot-bench}
files=${2:-2000}
total_mb=${3:-900}
repo=$work/repo
at=2026-11-23T12:00:00Z

drop_caches() { sync; if [[ -w /proc/sys/vm/drop_caches ]]; then echo 3 > /proc/sys/vm/drop_caches; fi; }

if [[ ! -d $repo/.adam_os/artifacts/raw/bulk ]]; then
  rm -rf "$work"; mkdir -p "$repo"
  echo "== generating $files files, ~$total_mb MB under $repo/.adam_os/artifacts/raw/bulk"
  printf 'seed input for the work order chain\n' > "$work/seed.txt"
  id=$("$hostsync" run adam.lua artifact_ingest --repo "$repo" --at $at --src "$work/seed.txt" | awk '{print $2}')
  id=$("$hostsync" run adam.lua artifact_sanitize --repo "$repo" --at $at --parent "$id" | awk '{print $2}')
  id=$("$hostsync" run adam.lua artifact_canon_select --repo "$repo" --at $at --select "$id" | awk '{print $2}')
  id=$("$hostsync" run adam.lua context_bundle_build --repo "$repo" --at $at --canon "$id" | awk '{print $2}')
  id=$("$hostsync" run adam.lua spec_generate --repo "$repo" --at $at --bundle "$id" | awk '{print $2}')
  "$hostsync" run adam.lua work_order_emit --repo "$repo" --at $at --spec "$id" | awk '{print $2}' > "$work/work_order_id"
  python3 - "$repo/.adam_os/artifacts/raw/bulk" "$files" "$total_mb" <<'PY'
import os, random, sys
root, n, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) * 1_000_000
rnd = random.Random(1)
weights = [rnd.expovariate(1.0) for _ in range(n)]
scale = total / sum(weights)
block = os.urandom(4 << 20)
for i, w in enumerate(weights):
    d = os.path.join(root, f"d{i % 37:02d}")
    os.makedirs(d, exist_ok=True)
    size = max(1, int(w * scale))
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        off = (i * 7919) % len(block)
        while size > 0:
            piece = block[off:off + size] or block[:size]
            f.write(piece); size -= len(piece); off = 0
PY
  age-keygen -o "$work/key.txt" 2>/dev/null
fi
recipient=$(grep -o 'age1[0-9a-z]*' "$work/key.txt" | head -1)
wo=$(cat "$work/work_order_id")
du -sh "$repo/.adam_os" | sed 's/^/== tree: /'

timed() {  # label, command...
  local label=$1; shift
  drop_caches
  /usr/bin/time -f "%e %M %U %S" -o "$work/time.$label" "$@" > "$work/out.$label" 2> "$work/err.$label"
  read -r wall rss user sys < "$work/time.$label"
  printf '  %-10s %7.2f s  %7d KB peak  %6.2f s CPU\n' "$label" "$wall" "$rss" "$(echo "$user + $sys" | bc)"
}

echo "== hostsync snapshot_export (tar + SHA-256 plain + age + SHA-256 enc + fsync)"
sid=bench_$(date +%s)
timed hostsync "$hostsync" run adam.lua snapshot_export --repo "$repo" --at $at --work-order "$wo" \
  --recipient "$recipient" --snapshot-id "$sid"
echo "== tar --sort=name ... | age -r KEY (no hash, no fsync)"
rm -f "$work/tar_age.age"
timed tar_age bash -c "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --exclude=.adam_os/artifacts/snapshots -C '$repo' -cf - .adam_os/artifacts .adam_os/runs \
  | age -r '$recipient' > '$work/tar_age.age'"

echo "== the same pipeline, made durable like hostsync's output (sync FILE = fsync)"
rm -f "$work/tar_age.age"
timed tar_age_fsync bash -c "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --exclude=.adam_os/artifacts/snapshots -C '$repo' -cf - .adam_os/artifacts .adam_os/runs \
  | age -r '$recipient' > '$work/tar_age.age' && sync '$work/tar_age.age'"

read -r hs_wall hs_rss _ < "$work/time.hostsync"
read -r tf_wall _ < "$work/time.tar_age_fsync"
read -r ta_wall ta_rss _ < "$work/time.tar_age"
manifest=$repo/.adam_os/artifacts/snapshots/$sid/snapshot_manifest.json
plain=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['total_plain_bytes'])" "$manifest")
echo
echo "Snapshot benchmark: $files files, $((plain / 1000000)) MB of plaintext archive"
printf '%-34s %10s %10s\n' "" hostsync "tar|age"
printf '%-34s %9.2fs %9.2fs\n' "wall time" "$hs_wall" "$ta_wall"
printf '%-34s %9.0f %10.0f\n' "MB/s (plaintext)" "$(echo "$plain / 1000000 / $hs_wall" | bc -l)" "$(echo "$plain / 1000000 / $ta_wall" | bc -l)"
printf '%-34s %9.2fx\n' "tar|age time / hostsync time" "$(echo "$ta_wall / $hs_wall" | bc -l)"
printf '%-34s %9.2fs  (%.2fx of hostsync)\n' "tar|age + fsync, wall time" "$tf_wall" "$(echo "$tf_wall / $hs_wall" | bc -l)"
printf '%-34s %8d KB %7d KB\n' "peak RSS" "$hs_rss" "$ta_rss"
echo "age -d of hostsync's snapshot: $(age -d -i "$work/key.txt" "$repo/.adam_os/artifacts/snapshots/$sid/snapshot.enc" | sha256sum | cut -c1-16)... manifest: $(grep -o '"archive_plain_sha256": "[0-9a-f]*' "$manifest" | cut -d'"' -f4 | cut -c1-16)..."
