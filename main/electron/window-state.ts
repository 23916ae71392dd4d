/**
 * The main window's size and position, remembered in a JSON file in userData. No Electron import: main.ts
 * passes the displays' work areas, so a window saved on a monitor that is gone comes back on a visible one.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_STATE: WindowState = { width: 1200, height: 800, maximized: false };
const MIN = { width: 640, height: 480 };

export function parseWindowState(text: string): WindowState | null {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const num = (k: string) => (typeof v[k] === 'number' && Number.isFinite(v[k]) ? Math.round(v[k] as number) : undefined);
    const width = num('width');
    const height = num('height');
    if (!width || !height) return null;
    return { x: num('x'), y: num('y'), width: Math.max(MIN.width, width), height: Math.max(MIN.height, height), maximized: v.maximized === true };
  } catch {
    return null;
  }
}

/** Keep the saved position only if most of the window's title bar lands on some display. */
export function fitToDisplays(state: WindowState, workAreas: readonly Rect[]): WindowState {
  if (state.x === undefined || state.y === undefined) return state;
  const { x, y, width } = state;
  const visible = workAreas.some((a) => {
    const overlap = Math.min(x + width, a.x + a.width) - Math.max(x, a.x);
    return overlap >= Math.min(200, width / 2) && y >= a.y && y < a.y + a.height - 40;
  });
  if (visible) return state;
  return { width: state.width, height: state.height, maximized: state.maximized };
}

export function loadWindowState(file: string, workAreas: readonly Rect[]): WindowState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { ...DEFAULT_STATE };
  }
  const parsed = parseWindowState(text);
  return parsed ? fitToDisplays(parsed, workAreas) : { ...DEFAULT_STATE };
}

/** Write through a temp file so a crash mid-write never leaves half a JSON file. */
export async function saveWindowState(file: string, state: WindowState): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(state, null, 2));
  await fs.rename(tmp, file);
}
