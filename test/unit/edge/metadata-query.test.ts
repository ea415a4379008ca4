/** The `q` filter of `GET /v1/sessions` (edge/sessions/metadata-query.ts): what parses, what matches. */
import { describe, expect, it } from "vitest";
import { matchesMetadataQuery, parseMetadataQuery, type MetadataQuery } from "../../../edge/sessions/metadata-query.ts";

describe("parseMetadataQuery", () => {
  it("takes single or double quotes, nested keys, and whitespace around every part", () => {
    expect(parseMetadataQuery(`user_metadata['a']:'x'`)).toEqual({ path: ["a"], value: "x" });
    expect(parseMetadataQuery(` user_metadata[ "a" ][ 'b' ] : "x" `)).toEqual({ path: ["a", "b"], value: "x" });
  });

  it("unescapes a backslash-escaped quote and keeps the other quote kind as it is", () => {
    expect(parseMetadataQuery(String.raw`user_metadata['it\'s']:'say "hi"'`)).toEqual({ path: ["it's"], value: 'say "hi"' });
    expect(parseMetadataQuery(String.raw`user_metadata["a\\b"]:"c\"d"`)).toEqual({ path: ["a\\b"], value: 'c"d' });
  });

  it("keeps empty keys and values, and characters that mean something elsewhere", () => {
    expect(parseMetadataQuery(`user_metadata['']:''`)).toEqual({ path: [""], value: "" });
    expect(parseMetadataQuery(`user_metadata['a:b']:'[x]'`)).toEqual({ path: ["a:b"], value: "[x]" });
  });

  it.each([
    ["no key", `user_metadata:'x'`],
    ["an unquoted key", `user_metadata[a]:'x'`],
    ["an unquoted value", `user_metadata['a']:x`],
    ["mismatched quotes", `user_metadata['a"]:'x'`],
    ["an unterminated value", `user_metadata['a']:'x`],
    ["another field", `metadata['a']:'x'`],
    ["text after the value", `user_metadata['a']:'x' OR 1`],
    ["two conditions", `user_metadata['a']:'x' user_metadata['b']:'y'`],
    ["dot access", `user_metadata.a:'x'`],
    ["nothing", ``],
  ])("refuses %s", (_, q) => {
    expect(parseMetadataQuery(q)).toBeUndefined();
  });
});

describe("matchesMetadataQuery", () => {
  const q = (path: string[], value: string): MetadataQuery => ({ path, value });

  it("compares a string leaf exactly, and numbers and booleans as they print", () => {
    expect(matchesMetadataQuery({ a: "x" }, q(["a"], "x"))).toBe(true);
    expect(matchesMetadataQuery({ a: "X" }, q(["a"], "x"))).toBe(false);
    expect(matchesMetadataQuery({ n: 3 }, q(["n"], "3"))).toBe(true);
    expect(matchesMetadataQuery({ n: 3 }, q(["n"], "3.0"))).toBe(false);
    expect(matchesMetadataQuery({ n: 0.1 }, q(["n"], "0.1"))).toBe(true);
    expect(matchesMetadataQuery({ b: false }, q(["b"], "false"))).toBe(true);
  });

  it("never matches a null, object or array leaf, even by its printed form", () => {
    expect(matchesMetadataQuery({ a: null }, q(["a"], "null"))).toBe(false);
    expect(matchesMetadataQuery({ a: { b: "x" } }, q(["a"], "[object Object]"))).toBe(false);
    expect(matchesMetadataQuery({ a: ["x"] }, q(["a"], "x"))).toBe(false);
  });

  it("walks nested objects but not into arrays", () => {
    expect(matchesMetadataQuery({ a: { b: { c: "x" } } }, q(["a", "b", "c"], "x"))).toBe(true);
    expect(matchesMetadataQuery({ a: ["x", "y"] }, q(["a", "0"], "x"))).toBe(false);
    expect(matchesMetadataQuery({ a: "xyz" }, q(["a", "length"], "3"))).toBe(false);
  });

  it("sees only the metadata's own keys, not what every object inherits", () => {
    expect(matchesMetadataQuery({}, q(["constructor", "name"], "Object"))).toBe(false);
    expect(matchesMetadataQuery({ a: {} }, q(["a", "constructor", "name"], "Object"))).toBe(false);
    // Stored metadata comes from JSON, where "__proto__" is an ordinary key.
    expect(matchesMetadataQuery(JSON.parse('{"__proto__": "x"}'), q(["__proto__"], "x"))).toBe(true);
  });

  it("matches nothing in a session without metadata", () => {
    expect(matchesMetadataQuery(undefined, q(["a"], "x"))).toBe(false);
  });
});
