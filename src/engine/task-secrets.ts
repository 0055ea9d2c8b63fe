// Secrets at the two edges of an attempt, for every way a task runs (a local thread or a remote worker):
// `{{secrets.NAME}}` resolved in the params handed to whoever runs it, and whatever comes back masked
// before it is stored or published. The SecretStore (features/secrets) implements TaskSecrets.
import type { Outcome } from "./attempts.ts";
import type { SecretReferences } from "./engine-deps.ts";
import type { SecretMasker } from "./task-logger.ts";

export interface TaskSecrets extends SecretReferences, SecretMasker {
  resolveSecretTemplates<T>(params: T): T;
  /** `edges`: the text may have been cut inside a value (see the SecretStore's MaskOptions). */
  maskSecrets(text: string, options?: { edges?: boolean }): string;
  maskSecretsDeep<T>(value: T, options?: { edges?: boolean }): T;
}

/**
 * The params to run with: secrets resolved. When a secret was deleted (or cannot be decrypted) since
 * submission, the attempt cannot run and retrying cannot help until someone stores it again: `error`
 * says why, and the caller records a non-retryable failure without handing the task to anyone.
 */
export function paramsForRun(secrets: TaskSecrets | undefined, params: Record<string, unknown>): { params: Record<string, unknown> } | { error: string } {
  if (!secrets) return { params };
  try {
    return { params: secrets.resolveSecretTemplates(params) };
  } catch (err) {
    return { error: `cannot resolve {{secrets.…}} in params: ${(err as Error).message}` };
  }
}

/**
 * An outcome as it may be stored: every secret value in its error, output and result masked. Task types
 * keep only part of long output (shell: the last 64 KiB; http: the first 1 MiB of a body), cut without
 * knowing the secrets, so a fragment of a value at either end of a text is masked too (`edges`).
 */
export function maskOutcome(secrets: TaskSecrets | undefined, outcome: Outcome): Outcome {
  if (!secrets) return outcome;
  const text = (t: string | null | undefined) => (t ? secrets.maskSecrets(t, { edges: true }) : t);
  return {
    ...outcome,
    error: text(outcome.error),
    stdout: text(outcome.stdout),
    stderr: text(outcome.stderr),
    result: outcome.result === undefined ? undefined : secrets.maskSecretsDeep(outcome.result, { edges: true }),
  };
}
