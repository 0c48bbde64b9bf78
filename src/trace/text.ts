/**
 * Text for handshake traces: one line per message for --trace, and the pieces the demo uses.
 * The client is always written on the left, so the arrow shows which way a message travels.
 */
import { AlertLevel } from "../alert.js";
import type { AlertEvent, TraceEvent } from "../connection.js";

export type Role = "client" | "server";
export type Arrow = "client → server" | "client ← server";

/** Who sent a message that `role` saw in `direction`. */
export function senderOf(role: Role, direction: TraceEvent["direction"]): Role {
  if (direction === "send") return role;
  return role === "client" ? "server" : "client";
}

/** "client → server" for a message the client sent, "client ← server" for one the server sent. */
export function arrowFor(sender: Role): Arrow {
  return sender === "client" ? "client → server" : "client ← server";
}

/** A field value, quoted when it holds spaces, quotes or '=' so the line can be split reliably. */
function quote(v: string): string {
  return v === "" || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
}

/** `key=value key2="value with spaces"`, in the order the core gave them. */
export function formatFields(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(" ");
}

/** One --trace line: `client → server ClientHello version=TLSv1.2 suites=...`. */
export function formatTraceEvent(role: Role, ev: TraceEvent): string {
  const f = formatFields(ev.fields);
  return `${arrowFor(senderOf(role, ev.direction))} ${ev.message}${f ? ` ${f}` : ""}`;
}

/** One --trace line for an alert, sent or received: `client ← server Alert fatal handshake_failure`. */
export function formatAlertEvent(role: Role, a: AlertEvent): string {
  const sender: Role = a.sentBy === "local" ? role : role === "client" ? "server" : "client";
  return `${arrowFor(sender)} Alert ${a.level === AlertLevel.fatal ? "fatal" : "warning"} ${a.name}`;
}

/**
 * Fields as indented "key: value" lines for the demo. Long comma lists and certificate chains
 * (`leaf <- issuer`) wrap between items, so the output stays readable in a terminal or a pipe.
 */
export function fieldLines(fields: Readonly<Record<string, string>>, indent: string, width = 100): string[] {
  const out: string[] = [];
  for (const [k, raw] of Object.entries(fields)) {
    const head = `${indent}${k}: `;
    let items: string[];
    if (raw.includes(" <- ")) items = raw.split(" <- ").map((x, i, a) => (i < a.length - 1 ? `${x} <-` : x));
    else if (raw.includes(",") && !raw.includes(", "))
      items = raw.split(",").map((x, i, a) => (i < a.length - 1 ? `${x},` : x));
    else items = [raw];
    let line = head;
    for (const piece of items) {
      if (line.length > head.length && line.length + 1 + piece.length > width) {
        out.push(line);
        line = " ".repeat(head.length) + piece;
      } else {
        line += (line.length > head.length ? " " : "") + piece;
      }
    }
    out.push(line);
  }
  return out;
}
