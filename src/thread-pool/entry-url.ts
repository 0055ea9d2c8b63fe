// Where the task-thread entry lives: next to this file in development, an extra entrypoint of the binary
// (scripts/build.ts) inside it, where every module's import.meta.url is the bundle root.
export function threadEntryUrl(): URL {
  if (Bun.isStandaloneExecutable) return new URL("./thread-pool/thread-entry.js", Bun.pathToFileURL(Bun.main));
  return new URL("./thread-entry.ts", import.meta.url);
}
