// How a person types this program where they are (the binary's path, or `npx agentvine` in the source
// tree), and the commands the start banner prints — each one something that works when pasted.
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { existsSync } from "node:fs";

/** The source tree's root (src/cli/../..); meaningless inside the compiled binary. */
const SOURCE_ROOT = resolve(import.meta.dir, "..", "..");

export interface Invocation {
  compiled: boolean;
  /** The executable (the binary) or the source tree's root. */
  path: string;
  cwd: string;
  /** PATH, to say `agentvine` when the binary is on it. */
  pathEnv?: string;
}

export function currentInvocation(): Invocation {
  return { compiled: Bun.isStandaloneExecutable, path: Bun.isStandaloneExecutable ? process.execPath : SOURCE_ROOT, cwd: process.cwd(), pathEnv: process.env.PATH };
}

/** What to type to run this program from `cwd`. */
export function programName(inv: Invocation = currentInvocation()): string {
  if (inv.compiled) {
    const dir = dirname(inv.path);
    const onPath = (inv.pathEnv ?? "").split(delimiter).some((d) => d && resolve(d) === dir);
    if (onPath) return inv.path.split("/").at(-1)!;
    const rel = relative(inv.cwd, inv.path);
    return rel.startsWith("..") || rel.length > inv.path.length ? inv.path : `./${rel}`;
  }
  // `npx agentvine` finds the package's own bin only from its directory; elsewhere, Bun from the tree.
  if (resolve(inv.cwd) === inv.path) return "npx agentvine";
  const bun = join(inv.path, "node_modules", ".bin", "bun");
  return `${existsSync(bun) ? bun : "bun"} ${join(inv.path, "src", "main.ts")}`;
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface BannerInput {
  url: string;
  dataDir: string;
  /** An active admin's username, or null when there is no account yet. */
  admin: string | null;
  invocation?: Invocation;
}

/**
 * The "what now" lines under the start banner: with no account, how to make the admin; then a key and
 * the hello world task through the CLI. `--data-dir` and `--server` appear only when they differ from
 * what the commands assume (./data, http://localhost:8080), so each line works pasted as it is.
 */
export function nextSteps({ url, dataDir, admin, invocation }: BannerInput): string[] {
  const inv = invocation ?? currentInvocation();
  const prog = programName(inv);
  const dataFlag = resolve(dataDir) === resolve(inv.cwd, "data") ? "" : ` --data-dir ${quote(dataDir)}`;
  const defaultServer = /^http:\/\/(localhost|127\.0\.0\.1):8080$/.test(url);
  const serverFlag = defaultServer ? "" : ` --server ${quote(url)}`;
  const user = admin ?? "admin";
  const lines: string[] = [];
  if (!admin) {
    lines.push(`  first:   open ${url} in a browser and create the first account (it becomes the admin),`);
    lines.push(`           or create it here: ${prog} user create admin --admin${dataFlag}`);
  }
  lines.push(`  ${(admin ? "try:" : "then:").padEnd(9)}export AGENTVINE_TOKEN=$(${prog} apikey create cli --scope api --user ${quote(user)}${dataFlag})`);
  lines.push(`           ${prog} task submit --type hello --param name=world --wait${serverFlag}`);
  return lines;
}
