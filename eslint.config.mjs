// Layer rules (STYLE.md): shared/ imports neither Node nor DOM-only modules; renderer/ never reaches
// Node, Electron or the native backend modules; only main/electron and preload import electron.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nativeBackend = ['better-sqlite3', 'sharp', 'onnxruntime-node', 'onnxruntime-node/*', '@tensorflow/*', 'onnx-proto'];

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
    files: ['main/backend/**', 'main/cli/**', 'main/server/**', 'scripts/**', 'tests/**', 'shared/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only main/electron and preload import electron: the backend, CLI, server and tests run in plain Node.' }] }],
    },
  },
  {
    // The photo library owns decoding: the rest of main asks photos/ for pixels, headers or thumbnails.
    // (A later block replaces the whole rule for the files it matches, so electron's entry is repeated.)
    files: ['main/backend/**', 'main/cli/**', 'main/server/**'],
    ignores: ['main/backend/photos/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only main/electron and preload import electron: the backend, CLI, server and tests run in plain Node.' }, { name: 'sharp', message: 'Only main/backend/photos/ imports sharp: decode through its functions (decodeImage, readImageInfo, thumbnailJpeg).' }] }],
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
