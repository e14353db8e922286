/** Where the Electron binary is, or why there is none. */
export type ElectronBinary = { found: true; path: string } | { found: false; reason: string };

/** Looks for the Electron binary without requiring 'electron' (which would download it). */
export function findElectronBinary(): ElectronBinary;

/** The one line printed, and given to test.skip, when there is no binary. */
export function skipMessage(reason: string): string;
