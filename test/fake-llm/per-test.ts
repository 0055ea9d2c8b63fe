// A fake model per test, stopped after it: `const fakeModel = fakeModelPerTest();` then `fakeModel()` in a test.
import { afterEach } from "bun:test";
import { startFakeLlm, type FakeLlm } from "./server.ts";

export function fakeModelPerTest(): () => FakeLlm {
  const fakes: FakeLlm[] = [];
  afterEach(async () => {
    while (fakes.length) await fakes.pop()!.stop();
  });
  return () => {
    const fake = startFakeLlm();
    fakes.push(fake);
    return fake;
  };
}
