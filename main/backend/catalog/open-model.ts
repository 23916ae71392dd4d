/** Open a model by its folder: read it (model.json, or a Hugging Face CLIP export in place), then load it. */
import { loadModel, type LoadModelOptions } from '../model/model';
import type { EmbeddingModel } from '../model/types';
import { resolveModelFolder } from './resolve';

export async function openModel(dir: string, opts: LoadModelOptions = {}): Promise<EmbeddingModel> {
  return loadModel(await resolveModelFolder(dir), opts);
}
