import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Small disks for the tests of a full or nearly full data directory: a tmpfs of a few MiB mounted on a fresh
 * directory (so the tests need root with CAP_SYS_ADMIN, and fail, never skip, without it).
 */
const mounts: string[] = [];
const DISK_PREFIX = 'gateway-store-disk-';

/** Unmounts (lazily) and removes the small disks of an earlier run that was killed before its afterAll. */
function unmountLeftovers(): void {
  const mounted = readFileSync('/proc/mounts', 'utf8').split('\n');
  for (const line of mounted) {
    const point = line.split(' ')[1] ?? '';
    if (!point.startsWith(join(tmpdir(), DISK_PREFIX))) continue;
    spawnSync('umount', ['-l', point]);
    rmSync(point, { recursive: true, force: true });
  }
}
unmountLeftovers();

/** A fresh directory with a tmpfs of `bytes` mounted on it; fails (never skips) without the privilege to mount. */
export function smallDisk(bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), DISK_PREFIX));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0)
    throw new Error(
      `this test needs root with CAP_SYS_ADMIN to mount a small tmpfs as a full disk; mount -t tmpfs ${dir} failed (${mounted.status}): ${
        mounted.stderr || mounted.error?.message
      }`,
    );
  mounts.push(dir);
  return dir;
}

/** Unmounts and removes the small disks this file mounted (a test file's afterAll). */
export function unmountSmallDisks(): void {
  for (const dir of mounts.splice(0)) {
    const unmounted = spawnSync('umount', [dir], { encoding: 'utf8' });
    if (unmounted.status !== 0) spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}
