// ClaimWaiters on its own: what it does with a request that is already gone.
import { expect, test } from "bun:test";
import { EventBus } from "../../events/bus.ts";
import { ClaimWaiters } from "./claim-waiters.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";

test("a claim whose request was already aborted is not attempted: no work is leased for nobody", async () => {
  const waiters = new ClaimWaiters({ bus: new EventBus() } as unknown as EngineDeps);
  let attempts = 0;
  const gone = new AbortController();
  gone.abort();
  const items = await waiters.claim("w1", () => [++attempts], 30_000, gone.signal);
  expect(items).toEqual([]);
  expect(attempts).toBe(0);
  expect(waiters.size).toBe(0);
  waiters.close();
});
