#!/bin/bash
# mailserver-growroot [PATH]: the root filesystem fills its boot disk again after GCE grew the disk under the
# running VM (a larger bootDiskSizeGb resizes it in place: upstream/diff-table.ts). Google's steps for a resized
# boot disk (cloud.google.com/compute/docs/disks/resize-persistent-disk, "Resize the file system and partitions"): growpart moves the root partition's end to the disk's end, then resize2fs grows the ext4 in it
# (online, as it is mounted). On a root that fills its disk already both change nothing, and this exits 0.
# PATH (for tests; default /): the mount point to grow the disk of, or a block device, grown offline if unmounted.
set -euo pipefail
say() { echo "mailserver-growroot: $*"; }

what=${1:-/}
if [ -b "$what" ]; then
  sys=/sys/dev/block/$(lsblk -dno MAJ:MIN "$what" | tr -d ' ')
else
  mounted=$(findmnt -n -o MAJ:MIN,FSROOT --mountpoint "$what") || { say "$what is neither a mount point nor a block device" >&2; exit 2; }
  read -r majmin fsroot <<<"$mounted"
  # A container's root (the lab's machine) is a directory of the host's filesystem: never grow the host's disk.
  if [ "$fsroot" != / ]; then
    say "$what is the directory $fsroot of a filesystem it shares (a container's root, as in the lab), not a disk partition of its own: nothing to grow"
    exit 0
  fi
  sys=/sys/dev/block/$majmin
fi
if [ ! -e "$sys" ]; then
  say "$what is not on a block device ($(findmnt -n -o SOURCE,FSTYPE --mountpoint "$what" || true)): nothing to grow"
  exit 0
fi
name=$(basename "$(readlink -f "$sys")")
dev=/dev/$name
if [ ! -b "$dev" ]; then
  say "$what is on $name, which has no device node here (a container): nothing to grow"
  exit 0
fi
fstype=$(blkid -p -o value -s TYPE "$dev" || true)
case $fstype in
  ext2|ext3|ext4) ;;
  *) say "$dev holds ${fstype:-no filesystem blkid knows}, not ext4: nothing grown; grow it by hand" >&2; exit 1 ;;
esac

if [ -f "$sys/partition" ]; then
  disk=/dev/$(basename "$(dirname "$(readlink -f "$sys")")")
  part=$(cat "$sys/partition")
  # growpart: 0 CHANGED, 1 NOCHANGE (the partition ends at the disk's end already), 2 failed.
  rc=0
  out=$(growpart "$disk" "$part" 2>&1) || rc=$?
  if [ "$rc" -gt 1 ]; then
    say "growpart $disk $part failed (exit $rc): $out" >&2
    exit "$rc"
  fi
  say "partition $part of $disk: $out"
else
  say "$dev is a whole disk, not a partition: no partition to grow"
fi

rc=0
out=$(resize2fs "$dev" 2>&1) || rc=$?
if [ "$rc" -ne 0 ]; then
  say "resize2fs $dev failed (exit $rc): $out" >&2
  exit "$rc"
fi
say "filesystem on $dev: $(grep -v '^resize2fs [0-9]' <<<"$out" | grep . | tr '\n' ' ')"
if [ ! -b "$what" ]; then df -h --output=source,size,used,avail "$what"; fi
