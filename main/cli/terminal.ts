/**
 * Text from the user's files (file names, folder names, caption lines, model names) shown in a terminal:
 * control characters are shown escaped, never sent raw. A file named `\e]0;…\a\e[2J.jpg` would otherwise
 * retitle the terminal and clear the screen when listed (and C1 controls such as U+009B act as ESC [ in
 * many terminals; bidi overrides reorder what is shown).
 */

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above, with \n left alone
const UNSAFE_KEEP_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value for a terminal line: every control character escaped (newlines too: one value, one line). */
export function shown(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** A block of lines for a terminal: the newlines we put between lines stay, every other control is escaped. */
export function shownLines(text: string): string {
  return text.replace(UNSAFE_KEEP_NEWLINE, escapeChar);
}

/**
 * JSON for a terminal or a pipe: JSON.stringify already escapes C0 controls; C1 and bidi controls are
 * escaped too (\u009b), which every JSON reader decodes back to the same string.
 */
export function shownJson(json: string): string {
  return json.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
