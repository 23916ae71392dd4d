/**
 * Model folders are written under a hidden `.tmp-*` name and renamed when complete (training saves,
 * imports). A process killed mid-save leaves its temp folder behind, possibly hundreds of MB of tower
 * files: every start removes the ones whose writing process is gone. The name carries the writer's pid
 * so a save still running in another process (a CLI `train` while the app starts) is left alone.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const PREFIX = '.tmp-';

/** The temp folder name for a model being written by this process (random part: two writes of one id never share it). */
export function tempFolderName(id: string, pid = process.pid): string {
  return `${PREFIX}${pid}-${id}-${randomBytes(4).toString('hex')}`;
}

/**
 * The pid of the process writing a temp folder: `.tmp-<pid>-<id>-<hex8>`, or `.tmp-import-<id>-<pid>-<hex8>`
 * (imports by older versions); null for names without one (older still).
 */
function writerPid(name: string): number | null {
  const m = /^\.tmp-(\d+)-/.exec(name) ?? /^\.tmp-import-.*-(\d+)-[0-9a-f]{8}$/.exec(name);
  return m ? Number(m[1]) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Remove the `.tmp-*` folders under `modelsDir` whose writer is gone, and half-deleted models; returns the names removed. */
export async function removeStaleTempFolders(modelsDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(modelsDir);
  } catch {
    return []; // no models folder yet
  }
  const removed: string[] = [];
  for (const name of names) {
    // `.removing-<id>`: a model deletion renames the folder first; a crash before the delete leaves it.
    const removing = name.startsWith('.removing-');
    if (!name.startsWith(PREFIX) && !removing) continue;
    const pid = removing ? null : writerPid(name);
    if (pid !== null && alive(pid)) continue;
    await fs.rm(path.join(modelsDir, name), { recursive: true, force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}
