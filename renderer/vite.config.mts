// Builds the renderer to dist/renderer. Relative base so the same files load from the browser-mode server
// (http://127.0.0.1:PORT/) and from the desktop app's app:// protocol.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: {
    // Relative to root (renderer/): the built app lands in dist/renderer.
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    // Under CSP script-src 'self' nothing may be inlined.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1000,
  },
});
