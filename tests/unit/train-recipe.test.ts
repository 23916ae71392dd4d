import { describe, expect, it } from 'vitest';
import { baseRecipe, BUILTIN_RECIPE, DEFAULT_TRAINING, defaultBatchSize } from '../../main/backend/train/recipe';
import type { ModelManifest } from '../../main/backend/model/types';

const manifest = (options?: Record<string, unknown>) => ({ training: options ? { options } : undefined }) as unknown as ModelManifest;

describe('training recipe', () => {
  it('batch size: at least ~8 steps per epoch on small sets, 16 to 128 photos', () => {
    expect(defaultBatchSize(10)).toBe(16);
    expect(defaultBatchSize(120)).toBe(16);
    expect(defaultBatchSize(256)).toBe(32);
    expect(defaultBatchSize(600)).toBe(64);
    expect(defaultBatchSize(1024)).toBe(128);
    expect(defaultBatchSize(3600)).toBe(128);
  });

  it("a base model without a recipe gets the defaults; one with a recipe passes on its views, dropout and schedule", () => {
    expect(baseRecipe(manifest())).toEqual({ augment: [], featureDropout: 0, schedule: DEFAULT_TRAINING.schedule, epochs: DEFAULT_TRAINING.epochs });
    expect(baseRecipe(manifest({ augment: ['hflip'], featureDropout: 0.3, schedule: 'cosine', epochs: 30 }))).toEqual({ augment: ['hflip'], featureDropout: 0.3, schedule: 'cosine', epochs: 30 });
    expect(baseRecipe(manifest({ augment: BUILTIN_RECIPE.augment, schedule: 'cosine', epochs: 30 })).augment).toEqual(['hflip', 'crop-center', 'crop-tl', 'crop-br']);
  });

  it('ignores what it does not understand in a recipe', () => {
    expect(baseRecipe(manifest({ augment: ['rotate', 'hflip'], featureDropout: 1.5, schedule: 'linear', epochs: 30 }))).toEqual({
      augment: ['hflip'],
      featureDropout: 0,
      schedule: DEFAULT_TRAINING.schedule,
      epochs: DEFAULT_TRAINING.epochs,
    });
    expect(baseRecipe(manifest({ augment: 'hflip', schedule: 'cosine', epochs: 0 })).epochs).toBe(DEFAULT_TRAINING.epochs);
  });
});
