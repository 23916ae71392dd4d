// Layer rules: shared/ imports neither Node nor DOM-only modules; renderer/ never reaches Node, Electron or
// the native backend modules; each native module has one owner in main/ (OWNERS below); the fronts (CLI,
// browser-mode server, Electron shell) reach the backend only through its public entry, main/backend/index.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nativeBackend = ['better-sqlite3', 'sharp', 'onnxruntime-node', 'onnxruntime-node/*', '@tensorflow/*', 'onnx-proto'];

/**
 * Who may import each native or heavy module in main/ and scripts/: one owner each, so SQL, onnxruntime,
 * TensorFlow.js, libvips and Electron each have one place to look. Tests may use them to build fixtures.
 */
const OWNERS = [
  { name: 'better-sqlite3', owner: ['main/backend/store/**'], message: 'Only main/backend/store/ opens SQLite: add a query to its table file and a Store method.' },
  {
    name: 'onnxruntime-node',
    owner: ['main/backend/model/ort.ts'],
    allowTypeImports: true,
    message: 'Only main/backend/model/ort.ts imports onnxruntime-node at run time: use its ort, createSessionFromBytes or createSessionFromFile.',
  },
  { group: ['@tensorflow/*'], owner: ['main/backend/train/tf.ts'], message: 'Only main/backend/train/tf.ts imports TensorFlow.js: use its tf and initTf.' },
  { name: 'sharp', owner: ['main/backend/photos/**'], message: 'Only main/backend/photos/ imports sharp: decode through its functions (decodeImage, readImageInfo, thumbnailJpeg).' },
  { name: 'electron', owner: ['main/electron/**', 'preload/**'], message: 'Only main/electron and preload import electron: the backend, CLI, server and tests run in plain Node.' },
];
const FRONTS = ['main/cli/**', 'main/server/**', 'main/electron/**'];
const frontRule = { group: ['**/backend/*', '!**/backend/index'], message: 'The fronts import the backend only through its public entry (main/backend/index.ts, imported as ../backend).' };
/**
 * What the command line may take from the backend's entry: start-up (which hands out the API table's
 * handlers), the port `serve` runs them through, and the helpers around them. Never a service or the store:
 * every command goes through the API table, checked like IPC and HTTP.
 */
const CLI_ALLOWED = ['startBackend', 'RunningBackend', 'backendPort', 'repairLibrary', 'resolveDataDir', 'expandHome', 'AppError', 'errorResult'];
const cliRule = {
  files: ['main/cli/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: ['../backend', '../../backend'].map((name) => ({
          name,
          allowImportNames: CLI_ALLOWED,
          message: `The CLI takes only start-up and the API handlers from the backend (${CLI_ALLOWED.join(', ')}): call the API table.`,
        })),
      },
    ],
  },
};

/** One rule block for `files`: every owned module the files do not own is refused (fronts: also deep backend imports). */
function ownerBlock(files, ignores, front) {
  const mine = (o) => o.owner.some((g) => files.includes(g));
  const others = OWNERS.filter((o) => !mine(o));
  return {
    files,
    ...(ignores.length ? { ignores } : {}),
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: others.filter((o) => o.name).map((o) => ({ name: o.name, message: o.message, ...(o.allowTypeImports ? { allowTypeImports: true } : {}) })),
          patterns: [...others.filter((o) => o.group).map((o) => ({ group: o.group, message: o.message })), ...(front ? [frontRule] : [])],
        },
      ],
    },
  };
}

const ownedFiles = OWNERS.flatMap((o) => o.owner);
const ownerBlocks = [
  // Everything in main/ and scripts/ that owns nothing and is not a front.
  ownerBlock(['main/**', 'scripts/**', 'bench/**'], [...ownedFiles, ...FRONTS], false),
  // The fronts: the public entry only (the Electron shell also owns electron).
  ownerBlock(['main/cli/**', 'main/server/**'], [], true),
  ownerBlock(['main/electron/**'], [], true),
  ownerBlock(['preload/**'], [], false),
  // Each backend owner: the other owners' modules are still refused.
  ...OWNERS.filter((o) => o.name !== 'electron').map((o) => ownerBlock(o.owner, [], false)),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'release/**', 'scratch/**', 'models/**', 'tests/.tmp/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['tests/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only main/electron and preload import electron: the backend, CLI, server and tests run in plain Node.' }] }],
    },
  },
  ...ownerBlocks,
  cliRule,
  {
    // Sizes the issue tracker agreed on: a source file under 500 lines, a function under 150. Known exceptions,
    // left for their owner's split: the trainer's two loops and the tfjs graph converter.
    files: ['main/**', 'renderer/**', 'shared/**', 'preload/**', 'bench/**', 'scripts/**'],
    rules: {
      'max-lines': ['error', { max: 500 }],
      'max-lines-per-function': ['error', { max: 150 }],
    },
  },
  {
    files: ['shared/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'electron', ...nativeBackend, 'react', 'react-dom'], message: 'shared/ is imported by main, preload and renderer: no Node, DOM or native modules.' }] }],
    },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'child_process', 'electron', ...nativeBackend, '../../main/*', '../main/*'], message: 'The renderer reaches Node only through the typed API (preload IPC or browser-mode HTTP).' }] }],
    },
  },
);
