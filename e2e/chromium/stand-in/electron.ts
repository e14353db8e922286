/**
 * What `import … from 'electron'` gives the preload in the Chromium e2e suite: the
 * harness rebundles the real dist/preload.js with 'electron' aliased to this file.
 * Only the two members the preload uses exist; anything else it might reach for is
 * undefined and fails, which real Electron would have hidden.
 */
export { contextBridge } from './context-bridge.js';
export { ipcRenderer } from './ipc-renderer.js';
