/** Small display helpers. */
export { formatBytes } from '../../shared/format';

export function fileName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds < 1) return 'almost done';
  if (seconds < 60) return `about ${Math.ceil(seconds)} s left`;
  const m = Math.round(seconds / 60);
  if (m < 60) return `about ${m} min left`;
  return `about ${Math.floor(m / 60)} h ${m % 60} min left`;
}

export function formatDate(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  // Generated and built-in models carry no real date (epoch 0).
  if (d.getTime() === 0) return '';
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function pct(x: number | undefined | null): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)}%` : '—';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function formatRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond) || perSecond <= 0) return '';
  return `${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)} per second`;
}


export function folderOf(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i > 0 ? p.slice(0, i) : p;
}
