import { test } from "node:test";
import { type AlertDescription, alertName } from "../../src/alert.js";
import type { Bytes } from "./bytes.js";
import type { Ext } from "./script13.js";

/** Case tables: one test per case, named after the alert it expects. */
export interface Case<H> {
  name: string;
  alert: AlertDescription;
  run: (h: H) => void;
  /**
   * The victim's alert is sealed under keys the script does not share (it derived other secrets):
   * one record it cannot read stands where the alert would be.
   */
  sealedUnreadable?: boolean;
}

export function table<
  H extends { v: { expectFatal(a: AlertDescription, sealedUnreadable?: boolean): void } },
>(title: string, make: () => H, cases: readonly Case<H>[]): void {
  for (const k of cases) {
    test(`${title}: ${k.name} -> ${alertName(k.alert)}`, () => {
      const h = make();
      k.run(h);
      h.v.expectFatal(k.alert, k.sealedUnreadable);
    });
  }
}

/** Extension list edits. */
export const set =
  (type: number, body: Bytes) =>
  (exts: Ext[]): Ext[] => {
    const i = exts.findIndex(([t]) => t === type);
    if (i < 0) return [...exts, [type, body]];
    const out = [...exts];
    out[i] = [type, body];
    return out;
  };
export const drop =
  (...types: number[]) =>
  (exts: Ext[]): Ext[] =>
    exts.filter(([t]) => !types.includes(t));
export const add =
  (...more: Ext[]) =>
  (exts: Ext[]): Ext[] => [...exts, ...more];
export const front =
  (...more: Ext[]) =>
  (exts: Ext[]): Ext[] => [...more, ...exts];
export const dup =
  (type: number) =>
  (exts: Ext[]): Ext[] => {
    const e = exts.find(([t]) => t === type);
    if (!e) throw new Error(`no extension ${type} to duplicate`);
    return [...exts, e];
  };
export const chain =
  (...edits: Array<(e: Ext[]) => Ext[]>) =>
  (exts: Ext[]): Ext[] =>
    edits.reduce((e, f) => f(e), exts);
