/**
 * Wait for a Playwright locator to reach a state, then assert it, failing with a message that says what the
 * page should have shown (a bare `waitFor` fails with a timeout that names a selector, not the expectation).
 */
import type { Locator } from 'playwright-core';
import { expect } from 'vitest';
import { oneLine } from '../../shared/format';

export async function shown(locator: Locator, message: string, opts: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number } = {}): Promise<void> {
  const state = opts.state ?? 'visible';
  try {
    await locator.waitFor({ ...opts, state });
  } catch (e) {
    expect.fail(`${message}: ${oneLine(e)}`);
  }
  const count = await locator.count();
  if (state === 'detached') expect(count, message).toBe(0);
  else if (state === 'hidden') expect(count === 0 || !(await locator.first().isVisible()), message).toBe(true);
  else expect(count, message).toBeGreaterThan(0);
}
