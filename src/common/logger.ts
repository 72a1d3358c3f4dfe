/**
 * Where the library's progress lines go ("creating networks", "node p1 ready", image builds).
 * Library use is silent unless the caller passes a logger; `console` is one, and so is any
 * object with `info` and `warn` (pino, winston). The CLI passes one that prints to stderr.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** The default of every library entry point: prints nothing. */
export const silentLogger: Logger = Object.freeze({ info: () => {}, warn: () => {} });

/** A logger whose every line goes to `write` (a progress callback, a test's array). */
export function lineLogger(write: (line: string) => void): Logger {
  return { info: write, warn: write };
}

/** A logger that prefixes every line, e.g. `images: `. */
export function prefixedLogger(logger: Logger, prefix: string): Logger {
  return { info: (m) => logger.info(`${prefix}${m}`), warn: (m) => logger.warn(`${prefix}${m}`) };
}
