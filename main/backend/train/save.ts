/**
 * Save a trained model as a NEW model folder through the catalog's one writer (temp folder, then rename: a
 * failure leaves no half folder, and the base model is never touched). The new folder holds the base's
 * files (towers hard-linked when possible, tokenizer, configs), the new heads, the word list grown by the
 * training texts, the query bank grown by some of them, the caption memory grown by the photos trained on, and a
 * manifest naming the base as parent.
 */
import path from 'node:path';
import { encodeMemory, MAX_MEMORY, memoryRowBytes, type MemoryEntry } from '../model/caption-memory';
import { readRegularFile } from '../fs/safe-read';
import { binPath, type Heads } from '../model/heads-format';
import { formatKnownWords, readKnownWords, textWords } from '../model/known-words';
import { grownBank } from '../model/query-bank';
import { MANIFEST_FILE } from '../catalog/manifest';
import { type FileCopy, listFolderFiles, writeModelFolder, type WriteStage, type WrittenModel } from '../catalog/model-folder';
import { takenModelIds, trainedModelId } from '../catalog/model-id';
import type { ModelManifest } from '../model/types';

export type SaveStage = WriteStage;

export interface SaveModelOptions {
  modelsDir: string;
  baseDir: string;
  baseManifest: ModelManifest;
  heads: Heads;
  /** New model id (must be free); by default the name (else the base's id) plus the time. */
  id?: string;
  name?: string;
  training: NonNullable<ModelManifest['training']>;
  /**
   * Texts the new heads were trained on (the set's captions): their words join the base model's word list
   * (`text.knownWords`), so words the set taught count as known. Ignored when the base has no list.
   */
  trainedTexts?: string[];
  /**
   * The photos the new heads were trained on, for the caption memory (model/caption-memory.ts): appended to the
   * base's rows (a base without a memory keeps none). Null or absent: the base's memory as it is.
   */
  memoryEntries?: readonly MemoryEntry[] | null;
  /** The memory's weight chosen for the new heads (the base's when absent). */
  memoryWeight?: number;
  /** Called before each stage; a throw aborts the save (tests inject failures here). */
  onStage?: (stage: SaveStage) => void | Promise<void>;
}

export type SavedModel = WrittenModel;

const HEADS_FILE = 'heads.json';

export async function saveTrainedModel(opts: SaveModelOptions): Promise<SavedModel> {
  const name = opts.name ?? `${opts.baseManifest.name} (retrained)`;
  const id = trainedModelId(opts.name ?? opts.baseManifest.id, await takenModelIds(opts.modelsDir), opts.id);
  // The base's files except its manifest, heads and word list (the new model gets its own).
  const base = opts.baseManifest;
  const skip = new Set([MANIFEST_FILE, HEADS_FILE, path.basename(binPath(HEADS_FILE))]);
  const baseHeads = base.heads ? path.normalize(base.heads) : null;
  if (baseHeads && !path.isAbsolute(baseHeads)) {
    skip.add(baseHeads);
    skip.add(path.normalize(binPath(baseHeads)));
  }
  const wordList = base.text.knownWords && !path.isAbsolute(base.text.knownWords) ? path.normalize(base.text.knownWords) : null;
  if (wordList) skip.add(wordList);
  // The query bank: the base's captions and some of the set's (a new file); the base's rows, embedded by its heads,
  // do not fit the new heads (the new model embeds its bank on first use, model/query-bank.ts).
  const bank = base.text.queryBank;
  if (bank?.vectors && !path.isAbsolute(bank.vectors)) skip.add(path.normalize(bank.vectors));
  const bankFile = bank && !path.isAbsolute(bank.file) ? path.normalize(bank.file) : null;
  if (bankFile) skip.add(bankFile);
  // The caption memory: the base's rows and the set's photos (a new file; the base's is only read).
  // (Only a base that has one: its settings were chosen for its heads.)
  const memory = base.text.captionMemory;
  const memoryFile = memory && !path.isAbsolute(memory.file) ? path.normalize(memory.file) : null;
  if (memoryFile && opts.memoryEntries?.length) skip.add(memoryFile);
  const files: FileCopy[] = (await listFolderFiles(opts.baseDir, skip)).map((rel) => ({ from: path.join(opts.baseDir, rel), to: rel }));
  // The word list: the base's words and those of the training texts (a new file, never the base's own).
  const texts: { to: string; data: string }[] = [];
  if (wordList) {
    const words = await readKnownWords(path.join(opts.baseDir, wordList));
    for (const t of opts.trainedTexts ?? []) for (const w of textWords(t)) words.add(w);
    texts.push({ to: wordList, data: formatKnownWords(words) });
  }
  if (bankFile) texts.push({ to: bankFile, data: await grownBank(path.join(opts.baseDir, bankFile), opts.trainedTexts ?? []) });
  const text = { ...base.text };
  if (bank) text.queryBank = { file: bank.file, beta: bank.beta, lambda: bank.lambda };
  if (memory && opts.memoryWeight !== undefined) text.captionMemory = { ...memory, weight: opts.memoryWeight };
  const binaries: { to: string; data: Uint8Array }[] = [];
  if (memoryFile && memory && opts.memoryEntries?.length) {
    const rows = encodeMemory(opts.memoryEntries, base.image.featureDim, base.text.featureDim);
    const baseRows = await readRegularFile(path.join(opts.baseDir, memoryFile), MAX_MEMORY * memoryRowBytes(base.image.featureDim, base.text.featureDim)).catch(() => Buffer.alloc(0));
    // Past MAX_MEMORY rows the oldest go (the base's first): a memory the runtime refuses would be no memory.
    const row = memoryRowBytes(base.image.featureDim, base.text.featureDim);
    binaries.push({ to: memoryFile, data: Buffer.concat([baseRows, rows]).subarray(-MAX_MEMORY * row) });
  }
  const manifest: ModelManifest = {
    ...base,
    text,
    id,
    name,
    createdAt: new Date().toISOString(),
    parent: base.id,
    heads: HEADS_FILE,
    embedDim: opts.heads.spec.embedDim,
    training: opts.training,
  };
  delete manifest.source;
  return writeModelFolder({ modelsDir: opts.modelsDir, manifest, files, texts: [...texts, ...binaries], heads: opts.heads, onStage: opts.onStage });
}
