// Command-line flag problems as one line a person can act on (node's parseArgs says more than that).

/**
 * A flag problem in one line, naming the flag: node's parseArgs messages go on about positional
 * arguments after `--`; the first sentence is what a person needs.
 */
export function flagProblem(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option '${unknown[1]}'`;
  const unexpected = /^Unexpected argument '([^']*)'/.exec(message);
  if (unexpected) return `unexpected argument '${unexpected[1]}'`;
  const missing = /^Option '(-\S+)(?:, (-\S+))?[^']*' argument missing/.exec(message);
  if (missing) return `${missing[2] ?? missing[1]} needs a value`;
  return message.split(". ")[0]!.replace(/\.$/, "");
}

/** Whether an error is parseArgs refusing the command line (a TypeError with an ERR_PARSE_ARGS_* code). */
export const isFlagError = (err: unknown): boolean => /^ERR_PARSE_ARGS_/.test(String((err as { code?: string })?.code ?? ""));
