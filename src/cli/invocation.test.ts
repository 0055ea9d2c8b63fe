// What the start banner tells you to type: the program as it is invoked here, and flags only when needed.
import { describe, expect, test } from "bun:test";
import { nextSteps, programName } from "./invocation.ts";

describe("programName", () => {
  test("the binary by name when it is on PATH, by a relative path from here, else by its full path", () => {
    expect(programName({ compiled: true, path: "/usr/local/bin/agentvine", cwd: "/srv", pathEnv: "/usr/bin:/usr/local/bin" })).toBe("agentvine");
    expect(programName({ compiled: true, path: "/home/ada/src/agentvine/dist/agentvine", cwd: "/home/ada/src/agentvine", pathEnv: "/usr/bin" })).toBe("./dist/agentvine");
    expect(programName({ compiled: true, path: "/opt/av/agentvine", cwd: "/home/ada", pathEnv: "/usr/bin" })).toBe("/opt/av/agentvine");
  });

  test("from the source tree: npx agentvine in it, Bun from the tree elsewhere", () => {
    expect(programName({ compiled: false, path: "/home/ada/agentvine", cwd: "/home/ada/agentvine" })).toBe("npx agentvine");
    expect(programName({ compiled: false, path: "/nonexistent/agentvine", cwd: "/tmp" })).toBe("bun /nonexistent/agentvine/src/main.ts");
  });
});

describe("nextSteps", () => {
  const here = { compiled: true, path: "/usr/local/bin/agentvine", cwd: "/srv", pathEnv: "/usr/local/bin" };
  test("no account yet: the browser or user create, then a key and the hello task; defaults need no flags", () => {
    const lines = nextSteps({ url: "http://127.0.0.1:8080", dataDir: "/srv/data", admin: null, invocation: here });
    expect(lines).toEqual([
      "  first:   open http://127.0.0.1:8080 in a browser and create the first account (it becomes the admin),",
      "           or create it here: agentvine user create admin --admin",
      "  then:    export AGENTVINE_TOKEN=$(agentvine apikey create cli --scope api --user admin)",
      "           agentvine task submit --type hello --param name=world --wait",
    ]);
  });

  test("another data dir and port are passed on (quoted when needed); an existing admin is named", () => {
    const lines = nextSteps({ url: "http://127.0.0.1:9000", dataDir: "/var/lib/agent vine", admin: "root-ada", invocation: here });
    expect(lines).toEqual([
      "  try:     export AGENTVINE_TOKEN=$(agentvine apikey create cli --scope api --user root-ada --data-dir '/var/lib/agent vine')",
      "           agentvine task submit --type hello --param name=world --wait --server http://127.0.0.1:9000",
    ]);
  });
});
