import { promises as fs } from 'node:fs';

/** Whether anything (file, folder, link target) is at `p`; errors other than "not there" also read as absent. */
export async function pathExists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}
