// A place in the change log (migrations/0004): the transaction that made a
// change and the change's number within it. Positions order changes exactly
// as readers may see them (sql/event_changes.sql). On the wire it is
// "<txid>-<change_id>", the SSE id of every change and of the `ready` message.

export interface Position {
  txid: bigint;
  changeId: bigint;
}

export const ORIGIN: Position = { txid: 0n, changeId: 0n };

export function comparePositions(a: Position, b: Position): number {
  if (a.txid !== b.txid) return a.txid < b.txid ? -1 : 1;
  if (a.changeId !== b.changeId) return a.changeId < b.changeId ? -1 : 1;
  return 0;
}

export function maxPosition(a: Position, b: Position): Position {
  return comparePositions(a, b) >= 0 ? a : b;
}

export function formatPosition(position: Position): string {
  return `${position.txid}-${position.changeId}`;
}

const POSITION = /^(\d{1,20})-(\d{1,19})$/;
/** What this stream's ids looked like before the change log: "<event_id>:<change_seq>" or "<change_seq>". */
const LEGACY = /^(?:\d{1,19}:)?\d{1,19}$/;
const MAX_U64 = 18_446_744_073_709_551_615n;
const MAX_I64 = 9_223_372_036_854_775_807n;

/**
 * The position a client resumes after, from its Last-Event-ID. undefined for none; "legacy"
 * for an id from before the change log (it cannot be placed in the new order); null when
 * malformed.
 */
export function parseCursor(value: string | undefined): Position | "legacy" | undefined | null {
  if (value === undefined || value.trim() === "") return undefined;
  const text = value.trim();
  const match = POSITION.exec(text);
  if (match) {
    const position = { txid: BigInt(match[1]!), changeId: BigInt(match[2]!) };
    return position.txid <= MAX_U64 && position.changeId <= MAX_I64 ? position : null;
  }
  return LEGACY.test(text) ? "legacy" : null;
}
