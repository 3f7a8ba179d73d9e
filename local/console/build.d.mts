/** dist/console/: what the local server serves at `GET /`. */
export declare const CONSOLE_DIST: string;
/** Builds the console into dist/console/, replacing what was there; returns the files it wrote. */
export declare function buildConsole(): Promise<string[]>;
/** Builds the console unless dist/console/ is newer than every console source; whether it built. */
export declare function ensureConsoleBuilt(): Promise<boolean>;
