/**
 * Option parsers: every numeric or date option is checked where it is read, with the API table's limits,
 * and refused in one line (`photo-search: --top must be …`, exit 1) rather than replaced by a default.
 * Numbers are written the plain way only: `1e2`, `0x10`, `12abc` and an empty value are refused, not read
 * as numbers.
 */
import path from 'node:path';
import { isDatePrefix, MAX_MODEL_NAME } from '../../shared/api';
import { expandHome } from '../backend';

/** An option value refused where it was read; main prints its message as the one line (no usage hint). */
export class OptionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionRefused';
  }
}

const WHOLE = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;

/** A whole number from `min` to `max` (inclusive); `max` Infinity: "≥ min". */
export function intIn(name: string, min: number, max = Infinity) {
  const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
  return (v: string): number => {
    const t = v.trim();
    const n = Number(t);
    if (!WHOLE.test(t) || !Number.isSafeInteger(n) || n < min || n > max) throw new OptionRefused(`${name} must be a whole number ${range}.`);
    return n;
  };
}

/** A decimal number from `min` to `max` (inclusive). */
export function numberIn(name: string, min: number, max: number) {
  return (v: string): number => {
    const t = v.trim();
    const n = Number(t);
    if (!DECIMAL.test(t) || n < min || n > max) throw new OptionRefused(`${name} must be a number from ${min} to ${max}.`);
    return n;
  };
}

/** A date prefix the filters take: YYYY, YYYY-MM or YYYY-MM-DD, a day the calendar has (the API table's wording). */
export function datePrefix(name: string) {
  return (v: string): string => {
    const t = v.trim();
    if (!isDatePrefix(t)) throw new OptionRefused(`${name.replace(/^--/, '')}: a date is YYYY, YYYY-MM or YYYY-MM-DD`);
    return t;
  };
}

/** A new model's name: not empty, at most MAX_MODEL_NAME characters (the API table's limits). */
export function modelName(name: string) {
  return (v: string): string => {
    const t = v.trim();
    if (!t) throw new OptionRefused(`${name} cannot be empty: give the new model a name, or leave ${name} out to have one made from its base.`);
    if (t.length > MAX_MODEL_NAME) throw new OptionRefused(`${name} has at most ${MAX_MODEL_NAME} characters (this one has ${t.length}).`);
    return t;
  };
}

/** A repeatable option's values, in order. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** A path from the command line: `~` expanded (when the shell did not), relative to the working folder. */
export function cliPath(p: string): string {
  return path.resolve(expandHome(p));
}
