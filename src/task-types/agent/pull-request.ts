// Opening a pull request (GitHub) or merge request (GitLab) for a pushed branch, with their REST APIs and
// plain fetch; the API's base URL is configurable (GitHub Enterprise, self-hosted GitLab).
import { z } from "zod";
import { TaskFailure } from "../types.ts";

/** Where and how to open the request: a task's `pull_request` param (the agents' and `publish`'s). */
export const PullRequestSchema = z.strictObject({
  provider: z.enum(["github", "gitlab"]),
  /** owner/name on GitHub; the project id or url-encoded path on GitLab. */
  repository: z.string().min(1).max(500),
  /** The token (`{{secrets.NAME}}`): resolved in the params handed to the task, masked in everything it prints. */
  token: z.string().min(1).max(10_000),
  /** Default https://api.github.com or https://gitlab.com/api/v4. */
  api_url: z.url({ protocol: /^https?$/ }).optional(),
  /** The branch to merge into; default the repository's default branch. */
  base: z.string().min(1).max(500).optional(),
});
export type PullRequestParams = z.infer<typeof PullRequestSchema>;

export async function openPullRequest(p: PullRequestParams, pr: { head: string; title: string; body: string }): Promise<{ number: number; url: string }> {
  const fail = (what: string) => new TaskFailure(`could not open the ${p.provider === "github" ? "pull" : "merge"} request: ${what}`, { retryable: true });
  if (p.provider === "github") {
    const api = (p.api_url ?? "https://api.github.com").replace(/\/+$/, "");
    const headers = { authorization: `Bearer ${p.token}`, accept: "application/vnd.github+json", "content-type": "application/json", "user-agent": "AgentVine" };
    let base = p.base;
    if (!base) {
      const repo = await fetch(`${api}/repos/${p.repository}`, { headers }).catch((e: Error) => { throw fail(e.message); });
      if (!repo.ok) throw fail(`GET /repos/${p.repository} answered ${repo.status}`);
      base = ((await repo.json()) as { default_branch: string }).default_branch;
    }
    const res = await fetch(`${api}/repos/${p.repository}/pulls`, { method: "POST", headers, body: JSON.stringify({ title: pr.title, head: pr.head, base, body: pr.body }) }).catch((e: Error) => {
      throw fail(e.message);
    });
    if (!res.ok) throw fail(`POST /pulls answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const json = (await res.json()) as { number: number; html_url: string };
    return { number: json.number, url: json.html_url };
  }
  const api = (p.api_url ?? "https://gitlab.com/api/v4").replace(/\/+$/, "");
  const project = encodeURIComponent(p.repository);
  const headers = { "private-token": p.token, "content-type": "application/json", "user-agent": "AgentVine" };
  let base = p.base;
  if (!base) {
    const repo = await fetch(`${api}/projects/${project}`, { headers }).catch((e: Error) => { throw fail(e.message); });
    if (!repo.ok) throw fail(`GET /projects answered ${repo.status}`);
    base = ((await repo.json()) as { default_branch: string }).default_branch;
  }
  const res = await fetch(`${api}/projects/${project}/merge_requests`, { method: "POST", headers, body: JSON.stringify({ title: pr.title, source_branch: pr.head, target_branch: base, description: pr.body }) }).catch((e: Error) => {
    throw fail(e.message);
  });
  if (!res.ok) throw fail(`POST /merge_requests answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const json = (await res.json()) as { iid: number; web_url: string };
  return { number: json.iid, url: json.web_url };
}
