/**
 * What `require('electron')` gives the preload in the Chromium e2e suite
 * (sandboxed-preload.ts hands it out). Only the two members the preload uses exist;
 * anything else it might reach for (Electron also has crashReporter, nativeImage,
 * webFrame, webUtils in a sandboxed preload) is undefined and fails, which is only
 * stricter.
 */
import { contextBridge } from './context-bridge.js';
import { ipcRenderer } from './ipc-renderer.js';

/** The 'electron' module of the stand-in. */
export const electron = Object.freeze({ contextBridge, ipcRenderer });
