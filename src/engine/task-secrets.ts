// Secrets at the two edges of an attempt, for every way a task runs (a local thread or a remote worker):
// `{{secrets.NAME}}` resolved in the params handed to whoever runs it — if each secret's allow-list lets
// this task, and this kind of runner, have it — and whatever comes back masked before it is stored or
// published. The SecretStore (features/secrets) implements TaskSecrets.
import type { Outcome } from "./attempts.ts";
import type { SecretReferences, SecretUseOf } from "./engine-deps.ts";
import type { SecretMasker } from "./task-logger.ts";

export interface TaskSecrets extends SecretReferences, SecretMasker {
  /** The params with values filled in, and those values; throws naming an unknown secret or the allow-list rule that refuses the use. */
  resolveForRun<T>(params: T, use: SecretUseOf | null): { params: T; values: string[] };
  /** Names of secrets that may not be sent to remote workers. */
  localOnly(): string[];
  maskSecrets(text: string): string;
  maskSecretsDeep<T>(value: T): T;
}

/** What to run an attempt with: resolved params, and the secret values in them (a task thread never cuts its text inside one). */
export interface RunParams {
  params: Record<string, unknown>;
  secretValues: string[];
}

/**
 * The params to run with: secrets resolved. When a secret was deleted (or cannot be decrypted) since
 * submission, or its allow-list refuses this use (the author's role changed, an http step's URL is known
 * only now and goes elsewhere, the runner is a remote worker), the attempt cannot run and retrying cannot
 * help until someone changes that: `error` says why, and the caller records a non-retryable failure
 * without handing the task to anyone.
 */
export function paramsForRun(
  secrets: TaskSecrets | undefined,
  claim: { params: Record<string, unknown>; taskType: string; createdBy?: string | null },
  remote = false,
): RunParams | { error: string } {
  if (!secrets) return { params: claim.params, secretValues: [] };
  try {
    const { params, values } = secrets.resolveForRun(claim.params, { userId: claim.createdBy ?? null, taskType: claim.taskType, remote });
    return { params, secretValues: values };
  } catch (err) {
    return { error: `cannot resolve {{secrets.…}} in params: ${(err as Error).message}` };
  }
}

/**
 * An outcome as it may be stored: every whole secret value (in its common forms) in its error, output and
 * result masked. Task types cut long output (shell: the last 64 KiB; http: the first 1 MiB of a body) only
 * between occurrences of the secrets they were given, so no fragment needs guessing at here.
 */
export function maskOutcome(secrets: TaskSecrets | undefined, outcome: Outcome): Outcome {
  if (!secrets) return outcome;
  const text = (t: string | null | undefined) => (t ? secrets.maskSecrets(t) : t);
  return {
    ...outcome,
    error: text(outcome.error),
    stdout: text(outcome.stdout),
    stderr: text(outcome.stderr),
    result: outcome.result === undefined ? undefined : secrets.maskSecretsDeep(outcome.result),
  };
}
