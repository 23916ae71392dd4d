/**
 * The text reader's first look (reader.ts, read-photo.ts), measured on training photos (docs/BENCHMARKS.md,
 * "A first look"):
 *
 *   npx tsx tests/helpers/text-look-bench.ts [--flickr FLICKR8K_TRAIN/Images] [--every 3] [--dir DIR] [--json]
 *
 * Labels are what the full reader reads (at most DETECT_MAX_SIDE, as the text pass reads without a look). Photos:
 * the generated ones the text gate trains on (tests/helpers/text-photo-set.ts, seed 101: receipts, screenshots,
 * documents, signs, turned lines, captions; gradients and stripes without text), and, with --flickr, every Nth
 * Flickr8k TRAIN photo (never dev). A tenth of the photos (by content hash, as the gate's held-out tenth) is held
 * out: the look's threshold is the highest probability (of a grid) that keeps 99% of the other nine tenths' text
 * photos at LOOK_SIDE; the held-out tenth reports what it keeps. For each photo, the look's evidence (the highest
 * probability of the detector's map) is measured at several sides, with the time to decode and detect there.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256 } from '../../main/backend/fs/hash';
import { decodeForText } from '../../main/backend/photos/text-image';
import { DETECT_MAX_SIDE, LOOK_FROM, LOOK_MIN_PROB, LOOK_SIDE, TextReader } from '../../main/backend/text/reader';
import { makeGeneratedPhotos, TEXT_KINDS } from './text-photo-set';

const SEED = 101;
const GEN_SIDES = [320, 480, 640];
const SMALL_SIDES = [128, 160, 192];
const GRID = [0.3, 0.1, 0.05, 0.02, 0.01, 0.001];
const RECALL = 0.99;

interface Row {
  file: string;
  group: 'generated' | 'flickr';
  kind: string;
  heldOut: boolean;
  /** The full reader found text. */
  text: boolean;
  full: { side: number; ms: number };
  /** Per look side: highest map probability, decode ms, detect ms. */
  look: Record<number, { p: number; decodeMs: number; detectMs: number }>;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const flickr = arg('--flickr');
  if (flickr && /flickr8k[/\\]dev/i.test(path.resolve(flickr))) throw new Error('The look is measured on Flickr8k train, never dev.');
  const every = Number(arg('--every') ?? 3);
  const json = process.argv.includes('--json');
  const tmp = arg('--dir') ? null : mkdtempSync(path.join(os.tmpdir(), 'ps-look-bench-'));
  const dir = arg('--dir') ?? tmp!;
  try {
    const genDir = path.join(dir, 'generated');
    if (!existsSync(path.join(genDir, '.done'))) {
      mkdirSync(genDir, { recursive: true });
      await makeGeneratedPhotos(path.join(genDir, 'text'), TEXT_KINDS, 70, SEED);
      await makeGeneratedPhotos(path.join(genDir, 'plain'), ['plain', 'stripes'], 100, SEED);
      writeFileSync(path.join(genDir, '.done'), '');
    }
    const files: { file: string; group: Row['group'] }[] = [];
    for (const sub of ['text', 'plain']) for (const f of readdirSync(path.join(genDir, sub)).sort()) files.push({ file: path.join(genDir, sub, f), group: 'generated' });
    if (flickr) readdirSync(flickr).sort().filter((_, i) => i % every === 0).forEach((f) => files.push({ file: path.join(flickr, f), group: 'flickr' }));

    const reader = await TextReader.open();
    const rows: Row[] = [];
    const t = () => performance.now();
    for (const { file, group } of files) {
      const buf = readFileSync(file);
      let t0 = t();
      const img = await decodeForText(buf, DETECT_MAX_SIDE);
      const lines = await reader.read(img);
      const full = { side: Math.max(img.width, img.height), ms: t() - t0 };
      const sides = group === 'flickr' ? SMALL_SIDES : full.side >= LOOK_FROM ? GEN_SIDES.filter((s) => s < full.side) : [];
      const look: Row['look'] = {};
      for (const side of sides) {
        t0 = t();
        const small = await decodeForText(buf, side);
        const t1 = t();
        const p = await reader.textEvidence(small);
        look[side] = { p, decodeMs: t1 - t0, detectMs: t() - t1 };
      }
      const hash = sha256(buf);
      rows.push({ file: path.basename(file), group, kind: path.basename(file).split('-')[0]!, heldOut: parseInt(sha256(`text-gate:${hash}`).slice(0, 8), 16) % 10 === 0, text: lines.length > 0, full, look });
    }
    await reader.dispose();

    const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
    const report: Record<string, unknown> = { lookFrom: LOOK_FROM, lookSide: LOOK_SIDE, lookMinProb: LOOK_MIN_PROB };
    // Large generated photos: the ones the look applies to.
    const large = rows.filter((r) => r.group === 'generated' && r.full.side >= LOOK_FROM);
    const tables: Record<string, unknown>[] = [];
    for (const side of GEN_SIDES) {
      const train = large.filter((r) => !r.heldOut && r.look[side]);
      const pos = train.filter((r) => r.text);
      const chosen = GRID.find((g) => pos.filter((r) => r.look[side]!.p >= g).length >= RECALL * pos.length) ?? 0;
      for (const part of ['train', 'held out'] as const) {
        const rs = large.filter((r) => (part === 'held out') === r.heldOut && r.look[side]);
        const kept = (g: number) => rs.filter((r) => r.text && r.look[side]!.p >= g).length;
        const plain = rs.filter((r) => !r.text);
        tables.push({
          side,
          part,
          threshold: chosen,
          textKept: `${kept(chosen)}/${rs.filter((r) => r.text).length}`,
          textKeptAtShipped: `${kept(LOOK_MIN_PROB)}/${rs.filter((r) => r.text).length}`,
          plainPassedAtShipped: `${plain.filter((r) => r.look[side]!.p >= LOOK_MIN_PROB).length}/${plain.length}`,
          lookMs: +median(rs.map((r) => r.look[side]!.decodeMs + r.look[side]!.detectMs)).toFixed(1),
          fullMsNoText: +median(plain.map((r) => r.full.ms)).toFixed(1),
          fullMsText: +median(rs.filter((r) => r.text).map((r) => r.full.ms)).toFixed(1),
        });
      }
    }
    report.generatedLarge = { photos: large.length, withText: large.filter((r) => r.text).length, table: tables };
    const lost = large.filter((r) => r.text && (r.look[LOOK_SIDE]?.p ?? 1) < LOOK_MIN_PROB).map((r) => r.file);
    report.generatedLostAtShipped = lost;
    if (flickr) {
      const fl = rows.filter((r) => r.group === 'flickr');
      const pos = fl.filter((r) => r.text);
      report.flickr = {
        photos: fl.length,
        withText: pos.length,
        fullMs: +median(fl.map((r) => r.full.ms)).toFixed(1),
        bySide: SMALL_SIDES.map((side) => ({
          side,
          ms: +median(fl.map((r) => r.look[side]!.decodeMs + r.look[side]!.detectMs)).toFixed(1),
          ...Object.fromEntries(GRID.map((g) => [`p>=${g}`, `${pos.filter((r) => r.look[side]!.p >= g).length}/${pos.length} text, ${((100 * fl.filter((r) => r.look[side]!.p >= g).length) / fl.length).toFixed(1)}% passed`])),
        })),
      };
    }
    if (json) console.log(JSON.stringify({ ...report, rows }, null, 2));
    else {
      console.log(`First look: photos of ${LOOK_FROM}+ px looked at ${LOOK_SIDE} px, text when p >= ${LOOK_MIN_PROB}`);
      console.table(tables);
      console.log('generated text photos the shipped look loses:', lost.length ? lost.join(' ') : 'none');
      if (report.flickr) {
        const f = report.flickr as { photos: number; withText: number; fullMs: number; bySide: Record<string, unknown>[] };
        console.log(`Flickr8k train (every ${every}th): ${f.photos} photos, ${f.withText} with text, full read ${f.fullMs} ms median; shrunk below 224 px:`);
        console.table(f.bySide);
      }
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
