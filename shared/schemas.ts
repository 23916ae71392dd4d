/**
 * Schemas for every request of the contract in api.ts. Main (IPC) and the browser-mode server validate
 * with these before anything reaches the backend.
 */
import { z } from 'zod';
import { MAX_EPOCHS, MAX_QUERY_LENGTH, MIN_EPOCHS, type ApiMethod } from './api';

const path = z.string().min(1, 'a path is required').max(4096, 'path is too long');
const top = z.number().int().min(1).max(1000).optional();
const id = z.number().int().nonnegative();


export const requestSchemas = {
  status: z.undefined().or(z.object({}).strict()),
  search: z.object({ query: z.string().trim().min(1, 'type something to search for').max(MAX_QUERY_LENGTH, `a query has at most ${MAX_QUERY_LENGTH} characters`), top }).strict(),
  searchLike: z.object({ id, top }).strict(),
  folders: z.undefined().or(z.object({}).strict()),
  addFolder: z.object({ path }).strict(),
  removeFolder: z.object({ path }).strict(),
  rescan: z.undefined().or(z.object({}).strict()),
  skipped: z
    .object({ limit: z.number().int().min(1).max(1000).optional(), offset: z.number().int().min(0).optional() })
    .strict(),
  jobs: z.undefined().or(z.object({}).strict()),
  cancelJob: z.object({ id: z.string().min(1).max(100) }).strict(),
  inspectCaptionSet: z.object({ path }).strict(),
  startTraining: z
    .object({
      set: path,
      name: z.string().trim().min(1).max(100).optional(),
      base: z.string().min(1).max(200).optional(),
      epochs: z.number().int().min(MIN_EPOCHS).max(MAX_EPOCHS).optional(),
      loss: z.enum(['default', 'tutorial']).optional(),
      seed: z.number().int().optional(),
    })
    .strict(),
  models: z.undefined().or(z.object({}).strict()),
  activateModel: z.object({ id: z.string().min(1).max(200) }).strict(),
  importModel: z.object({ source: z.string().min(1).max(4096) }).strict(),
  removeModel: z.object({ id: z.string().min(1).max(200) }).strict(),
  openPhoto: z.object({ id }).strict(),
  showInFolder: z.object({ id }).strict(),
  pickFolder: z.undefined().or(z.object({}).strict()),
} satisfies Record<ApiMethod, z.ZodType>;

export const API_METHODS = Object.keys(requestSchemas) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(requestSchemas, name);
}

/** Validate a request; returns a one-line message naming the problem on failure. */
export function validateRequest(method: ApiMethod, input: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  const r = requestSchemas[method].safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return { ok: false, message: `Invalid request to ${method}: ${where}${issue.message}` };
}
