/** Where a model came from and how well it does, in sentences: trained from what on what, imported from where, recall and how it was measured. */
import type { ModelFigures, ModelInfo } from '../../../shared/api';
import { describeFigures, gainVerdict, NO_MEASURABLE_GAIN } from '../../../shared/format';

function sentence(s: string): string {
  const t = s.trim();
  return t ? `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}` : '';
}

/** Where a model came from, as sentences: trained from what on what, imported from where, built how. */
export function Provenance({ m, names }: { m: ModelInfo; names: ModelInfo[] }) {
  const parts: string[] = [];
  const parent = m.parent ? (names.find((n) => n.id === m.parent)?.name ?? m.parent) : null;
  if (m.dataset) parts.push(sentence(parent ? `trained from ${parent} on ${m.dataset}` : `trained on ${m.dataset}`));
  else if (parent) parts.push(sentence(`trained from ${parent}`));
  if (m.source) parts.push(sentence(m.builtin || /^built /.test(m.source) ? m.source : `imported from ${m.source}`));
  const metrics = m.figures ? describeModelFigures(m.figures) : summarizeMetrics(m.metrics);
  return (
    <div className="provenance small-text">
      {parts.length > 0 && <span>{parts.join(' ')}</span>}
      {metrics && (
        <span className="metrics" data-testid="model-recall">
          {metrics}
        </span>
      )}
    </div>
  );
}

/** Recall with how it was measured (comparable only when measured the same way), and a fine-tune's gain verdict. */
function describeModelFigures(f: ModelFigures): string {
  const t = f.textToImage;
  const recall = `Text → photo R@1 ${t.r1.toFixed(1)}% · R@5 ${t.r5.toFixed(1)}% · R@10 ${t.r10.toFixed(1)}% (${describeFigures(f)})`;
  const g = f.gainR5;
  if (!g) return recall;
  const change = `held-out R@5 ${g.mean >= 0 ? '+' : '−'}${Math.abs(g.mean).toFixed(1)} ± ${g.se.toFixed(1)} points`;
  const verdict = gainVerdict(g);
  return `${recall} · ${change}${verdict === 'none' ? `: ${NO_MEASURABLE_GAIN}` : verdict === 'loss' ? ': worse than the model it came from' : ''}`;
}

function recallLine(label: string, v: unknown): string | null {
  const t2i = (v as { textToImage?: Record<string, unknown> } | undefined)?.textToImage;
  if (!t2i || typeof t2i.r5 !== 'number') return null;
  return `${label}: R@1 ${Number(t2i.r1).toFixed(1)}% · R@5 ${t2i.r5.toFixed(1)}% · R@10 ${Number(t2i.r10).toFixed(1)}%`;
}

/** The recall figures the metrics carry (trained: held-out photos; built-in: Flickr8k dev), else key=value. */
function summarizeMetrics(metrics: Record<string, unknown> | null): string {
  if (!metrics) return '';
  const out: string[] = [];
  const held = recallLine('Held-out text → photo', metrics.after ?? metrics.val);
  if (held) {
    out.push(held);
    const before = (metrics.before as Record<string, Record<string, number>> | undefined)?.textToImage;
    if (before && typeof before.r5 === 'number') out.push(`before training R@5 ${before.r5.toFixed(1)}%`);
    return out.join(' · ');
  }
  // The built-in model records the figure its documentation quotes: Flickr8k dev photos it never saw.
  const dev = recallLine('Flickr8k dev text → photo', metrics.flickr8kDev) ?? recallLine('Held-out text → photo', metrics.heldOut) ?? recallLine('Text → photo', metrics);
  if (dev) return dev;
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === 'number') out.push(`${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    if (out.length >= 4) break;
  }
  return out.join(' · ');
}
