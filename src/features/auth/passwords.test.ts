// Password rules and hashing: length, the common-password list (with decorated and repeated variants),
// argon2id at the chosen cost, rehash detection.
import { describe, expect, test } from "bun:test";
import { DEFAULT_PASSWORD_COST, hashPassword, isCommonPassword, needsRehash, passwordProblems, verifyPassword } from "./passwords.ts";

const codes = (password: string, username?: string) => passwordProblems(password, { username }).map((p) => p.code);

describe("password rules", () => {
  test("good passphrases pass", () => {
    for (const p of ["violet tractor umbrella 42", "correct-horse-battery-staple-7", "Tr0ub4dor&3-is-too-short-no", "ünïcödé pässwörd ok"]) expect(codes(p)).toEqual([]);
  });

  test("shorter than 12 characters, common, decorated common, repeated common, repetitive, or containing the username", () => {
    expect(codes("Xk4$bq9!mZ")).toEqual(["too_short"]);
    expect(codes("password")).toEqual(["too_short", "too_common"]);
    expect(codes("qwertyuiopasdf")).toEqual(["too_common"]);
    expect(codes("Password1234!")).toEqual(["too_common"]);
    expect(codes("!!!sunshine2025")).toEqual(["too_common"]);
    expect(codes("monkeymonkeymonkey")).toEqual(["too_common"]);
    expect(codes("abababababababab")).toEqual(["too_repetitive"]);
    expect(codes("alice-in-wonderland-99", "alice")).toEqual(["contains_username"]);
    expect(codes("x".repeat(300))).toEqual(["too_long", "too_common"]); // "xxxx" repeated
  });

  test("the list is the real top-1,000 (case-insensitive)", () => {
    for (const p of ["123456", "PASSWORD", "dragon", "trustno1", "freepass", "1qaz2wsx3edc"]) expect(isCommonPassword(p)).toBe(true);
    expect(isCommonPassword("violet tractor umbrella")).toBe(false);
  });
});

describe("hashing", () => {
  test("argon2id with the chosen cost; verify; a hash of other parameters needs a rehash", async () => {
    const hash = await hashPassword("violet tractor umbrella 42");
    expect(hash).toStartWith(`$argon2id$v=19$m=${DEFAULT_PASSWORD_COST.memoryCost},t=${DEFAULT_PASSWORD_COST.timeCost},p=1$`);
    expect(await verifyPassword("violet tractor umbrella 42", hash)).toBe(true);
    expect(await verifyPassword("violet tractor umbrella 43", hash)).toBe(false);
    expect(await verifyPassword("anything", "not a hash")).toBe(false);
    expect(needsRehash(hash)).toBe(false);
    expect(needsRehash(await hashPassword("x", { memoryCost: 8192, timeCost: 1 }))).toBe(true);
    expect(needsRehash(await Bun.password.hash("x", "bcrypt"))).toBe(true);
  });
});
