/** The run's options (name, epochs, loss) and the note under Epochs: what the base model's recipe does, or why the number is refused. */
import { MAX_EPOCHS, MIN_EPOCHS, type ModelInfo } from '../../../shared/api';

export type Loss = 'default' | 'tutorial';

interface Props {
  disabled: boolean;
  name: string;
  onName(name: string): void;
  epochValue: string;
  epochsValid: boolean;
  onEpochs(text: string): void;
  loss: Loss;
  onLoss(loss: Loss): void;
  /** The active model, whose recipe a run starts from. */
  active: ModelInfo | null;
}

/** How the active model's recipe uses the epoch count, in one sentence. */
export function epochsNote(active: ModelInfo | null): string {
  const recipe = active?.recipe;
  if (!recipe) return '';
  if (recipe.schedule === 'chosen') {
    return `${active?.name} is fine-tuned: how far to move from it (step size, up to ${recipe.epochs} epochs, share of the new heads) is chosen on the set's held-out photos. Giving epochs fixes the most it trains.`;
  }
  if (recipe.schedule === 'cosine') return `${active?.name} retrains on a fixed ${recipe.epochs}-epoch schedule.`;
  return `At most ${recipe.epochs} for ${active?.name}: training stops early when held-out recall stops improving.`;
}

export function TrainOptions({ disabled, name, onName, epochValue, epochsValid, onEpochs, loss, onLoss, active }: Props) {
  return (
    <>
      <fieldset className="options" disabled={disabled}>
        <legend>Options</legend>
        <label>
          <span className="label">Model name</span>
          <input type="text" value={name} onChange={(e) => onName(e.target.value)} placeholder="my-photos" />
        </label>
        <label>
          <span className="label">Epochs</span>
          <input type="text" inputMode="numeric" value={epochValue} onChange={(e) => onEpochs(e.target.value)} aria-invalid={!epochsValid} aria-describedby="epochs-note" />
        </label>
        <label>
          <span className="label">Loss</span>
          <select value={loss} onChange={(e) => onLoss(e.target.value as Loss)}>
            <option value="default">Default</option>
            <option value="tutorial">Tutorial</option>
          </select>
        </label>
      </fieldset>
      <p id="epochs-note" className={epochsValid ? 'muted small-text' : 'error-text small-text'} data-testid="epochs-note">
        {epochsValid ? epochsNote(active) : `Epochs must be a whole number from ${MIN_EPOCHS} to ${MAX_EPOCHS}.`}
      </p>
    </>
  );
}
