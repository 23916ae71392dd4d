/** The words the UI shows for a failed Result: one line, led by what kind of problem it is. */
import type { ErrorCode } from '../../../shared/api';
import { oneLine } from '../../../shared/format';

const LEAD: Record<ErrorCode, string> = {
  invalid_input: 'Check the input',
  not_found: 'Not found',
  empty_library: 'Your library is empty',
  unknown_words: 'Nothing to search for',
  unknown_model: 'Unknown model',
  model_error: 'The model could not run',
  bad_dataset: 'That captioned set has a problem',
  busy: 'Busy',
  cancelled: 'Cancelled',
  forbidden: 'Not allowed',
  unsupported: 'Only in the desktop app',
  internal: 'Something went wrong',
};

export function describeError(r: { code: ErrorCode; message: string }): string {
  const lead = LEAD[r.code] ?? 'Something went wrong';
  const message = oneLine(r.message || '').trim();
  return message ? `${lead}: ${message}` : `${lead}.`;
}
