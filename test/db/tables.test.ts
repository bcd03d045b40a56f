// src/db/tables.ts describes the tables by hand; this reads it with the TypeScript compiler and
// compares it with the migrated schema's catalog, so that a column added, dropped, renamed,
// made nullable or given a default in a migration fails here until the description follows.
// The vocabularies of src/domain.ts and a new user's state are pinned to the schema the same way.
import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect } from "vitest";
import { it, type TestDatabase } from "../support/database.js";
import {
  BOT_TYPES, EVENT_STATUSES, FRIENDSHIP_LEVELS, ROLES, WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENT_KINDS,
} from "../../src/domain.js";
import { INITIAL_FRIENDSHIP_STATE } from "../../src/pipeline/friendship.js";

const TABLES_FILE = "src/db/tables.ts";

/** What a property's type in tables.ts says about its column. */
interface Described {
  /** The type a select returns, without `| null`. */
  select: string;
  nullable: boolean;
  /** An insert may leave it out: Defaulted<...>, or an insert type that admits undefined. */
  insertOptional: boolean;
  /** Never written: ColumnType<S, never, never> (generated or assigned by PostgreSQL). */
  readOnly: boolean;
}

/** Splits at top-level commas or bars, ignoring those inside <...>, (...), [...] and {...}. */
function splitTop(text: string, separator: "," | "|"): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if ("<([{".includes(char)) depth++;
    if (">)]}".includes(char)) depth--;
    if (char === separator && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current.trim());
  return parts.filter((part) => part !== "");
}

function argumentsOf(text: string, wrapper: string): string[] | undefined {
  if (!text.startsWith(`${wrapper}<`) || !text.endsWith(">")) return undefined;
  return splitTop(text.slice(wrapper.length + 1, -1), ",");
}

function describeType(text: string): Described {
  const generated = argumentsOf(text, "Defaulted") ?? argumentsOf(text, "Generated");
  if (generated) return { ...describeType(generated[0]!), insertOptional: true };
  const alternatives = splitTop(text, "|");
  if (alternatives.length > 1) {
    const nonNull = alternatives.filter((part) => part !== "null");
    const inner = describeType(nonNull.join(" | "));
    return { ...inner, nullable: inner.nullable || nonNull.length < alternatives.length };
  }
  const column = argumentsOf(text, "ColumnType");
  if (column) {
    const [select, insert, update] = column as [string, string, string];
    const selected = describeType(select);
    const insertParts = splitTop(insert, "|");
    return {
      ...selected,
      insertOptional: selected.insertOptional || insertParts.includes("undefined") || insert === "never",
      readOnly: insert === "never" && update === "never",
    };
  }
  return { select: text, nullable: false, insertOptional: false, readOnly: false };
}

/** The interfaces of tables.ts, and the Database interface's map from "parley.x" to them. */
function readTablesFile(): Map<string, Map<string, Described>> {
  const source = ts.createSourceFile(TABLES_FILE, readFileSync(TABLES_FILE, "utf8"), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const database = interfaces.get("Database");
  if (!database) throw new Error(`${TABLES_FILE} has no interface Database`);
  const relations = new Map<string, Map<string, Described>>();
  for (const member of database.members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const relation = (member.name as ts.StringLiteral).text;
    const declaration = interfaces.get(member.type.getText(source));
    if (!declaration) throw new Error(`${relation}: no interface ${member.type.getText(source)} in ${TABLES_FILE}`);
    const columns = new Map<string, Described>();
    for (const property of declaration.members) {
      if (!ts.isPropertySignature(property) || !property.type) continue;
      columns.set((property.name as ts.Identifier).text, describeType(property.type.getText(source)));
    }
    relations.set(relation, columns);
  }
  return relations;
}

// Type aliases of tables.ts and what a select gets from them.
const ALIASES: Record<string, string> = { Numeric: "numeric", Timestamp: "Date" };
// Names of string vocabularies a text column may be typed with.
const STRING_TYPES = new Set(["string", "BotType", "Role", "EventStatus", "FriendshipLevel", "WebhookDeliveryStatus", "WebhookEventKind"]);

/** Whether a select type fits a PostgreSQL type (pg's parsers: int8 and numeric as strings, timestamptz as Date). */
function fits(select: string, udt: string): boolean {
  const resolved = ALIASES[select] ?? select;
  if (udt.startsWith("_")) {
    const element = /^(?:Array<(.+)>|(.+)\[\])$/.exec(resolved);
    return element !== null && fits((element[1] ?? element[2])!, udt.slice(1));
  }
  switch (udt) {
    case "int2": case "int4": case "float4": case "float8": return resolved === "number";
    case "int8": return resolved === "string";
    case "numeric": return resolved === "numeric" || resolved === "string";
    case "bool": return resolved === "boolean";
    case "timestamptz": return resolved === "Date";
    case "jsonb": case "json": return argumentsOf(resolved, "Json") !== undefined;
    case "bytea": return resolved === "Buffer";
    case "text": case "varchar": case "uuid": case "xid8": case "tsvector": case "varbit": case "regconfig":
      return STRING_TYPES.has(resolved) || splitTop(resolved, "|").every((part) => /^"[^"]*"$/.test(part));
    default: return false;
  }
}

interface CatalogColumn {
  relation: string;
  kind: "table" | "view";
  column: string;
  udt: string;
  nullable: boolean;
  has_default: boolean;
  generated: boolean;
}

describe("src/db/tables.ts against the migrated schema", () => {
  it("describes every table and view of schema parley, each column with its type, nullability and default", async ({ database }) => {
    const { rows } = await database.pool.query<CatalogColumn>(`
      select 'parley.' || c.table_name as relation,
             case t.table_type when 'VIEW' then 'view' else 'table' end as kind,
             c.column_name as column, c.udt_name as udt, c.is_nullable = 'YES' as nullable,
             (c.column_default is not null or c.is_identity = 'YES') as has_default, c.is_generated = 'ALWAYS' as generated
      from information_schema.columns c
      join information_schema.tables t using (table_schema, table_name)
      where c.table_schema = 'parley'
      order by c.table_name, c.ordinal_position`);
    const described = readTablesFile();
    const problems: string[] = [];

    const inCatalog = new Set(rows.map((row) => row.relation));
    for (const relation of inCatalog) if (!described.has(relation)) problems.push(`${relation}: missing from Database`);
    for (const relation of described.keys()) if (!inCatalog.has(relation)) problems.push(`${relation}: in Database, not in the schema`);

    for (const row of rows) {
      const columns = described.get(row.relation);
      if (!columns) continue;
      const name = `${row.relation}.${row.column}`;
      const column = columns.get(row.column);
      if (!column) {
        problems.push(`${name}: missing (${row.udt})`);
        continue;
      }
      if (!fits(column.select, row.udt)) problems.push(`${name}: typed ${column.select}, the column is ${row.udt}`);
      // A view's columns are all nullable in the catalog, and nothing inserts into one.
      if (row.kind === "view") continue;
      if (column.nullable !== row.nullable) problems.push(`${name}: ${row.nullable ? "nullable, typed without null" : "not null, typed with null"}`);
      // PostgreSQL fills a generated column; one with a default may be left to it too.
      if (row.generated && !column.readOnly) problems.push(`${name}: generated: type it ColumnType<S, never, never>`);
      if (column.readOnly && !row.generated && !row.has_default) problems.push(`${name}: typed as never written, but nothing fills it`);
      // Kysely lets an insert leave out a nullable column, or one whose insert type admits undefined.
      if (column.nullable === row.nullable && !row.nullable) {
        if (row.has_default && !column.insertOptional) problems.push(`${name}: has a default: type it Defaulted<...>`);
        if (!row.has_default && !row.generated && column.insertOptional) problems.push(`${name}: has no default, typed as optional on insert`);
      }
    }
    for (const [relation, columns] of described) {
      const inRelation = new Set(rows.filter((row) => row.relation === relation).map((row) => row.column));
      for (const column of columns.keys()) if (inCatalog.has(relation) && !inRelation.has(column)) problems.push(`${relation}.${column}: not in the schema`);
    }
    expect(problems).toEqual([]);
  });

  it("fails on a difference: the check itself sees a column typed wrong", () => {
    expect(describeType("Defaulted<Json<RankedAgent[]>>")).toEqual({ select: "Json<RankedAgent[]>", nullable: false, insertOptional: true, readOnly: false });
    expect(describeType("ColumnType<string | null, never, never>")).toEqual({ select: "string", nullable: true, insertOptional: true, readOnly: true });
    expect(describeType("Timestamp | null")).toEqual({ select: "Timestamp", nullable: true, insertOptional: false, readOnly: false });
    expect(fits("number", "int8")).toBe(false);
    expect(fits("FriendshipLevel[]", "_text")).toBe(true);
    expect(fits("number[]", "_text")).toBe(false);
    expect(fits("Json<TopicMetrics>", "jsonb")).toBe(true);
    expect(fits("string", "jsonb")).toBe(false);
  });
});

describe("src/domain.ts against the schema's check constraints", () => {
  /** The values a column's `check (column in (...))` allows, or for an array `column <@ '{...}'`. */
  async function allowed(database: TestDatabase, table: string, column: string): Promise<string[]> {
    const { rows } = await database.pool.query<{ definition: string }>(`
      select pg_get_constraintdef(oid) as definition from pg_constraint
      where conrelid = $1::regclass and contype = 'c' and pg_get_constraintdef(oid) ~ ('\\m' || $2 || '\\M')`, [table, column]);
    for (const { definition } of rows) {
      const list = /ANY \(ARRAY\[(.*?)\]\)/.exec(definition);
      if (list) return [...list[1]!.matchAll(/'([^']*)'/g)].map((match) => match[1]!);
      const array = /<@ '\{(.*?)\}'/.exec(definition);
      if (array) return array[1]!.split(",");
    }
    throw new Error(`${table}.${column}: no check constraint lists its values`);
  }

  it("each vocabulary is the one its column allows", async ({ database }) => {
    expect(await allowed(database, "parley.conversations", "bot_type")).toEqual([...BOT_TYPES]);
    expect(await allowed(database, "parley.agent_catalog", "agent_type")).toEqual([...BOT_TYPES]);
    expect(await allowed(database, "parley.messages", "role")).toEqual([...ROLES]);
    expect(await allowed(database, "parley.conversation_events", "status")).toEqual([...EVENT_STATUSES]);
    expect(await allowed(database, "parley.friendship_status", "friendship_level")).toEqual([...FRIENDSHIP_LEVELS]);
    expect(await allowed(database, "parley.webhooks", "events")).toEqual([...WEBHOOK_EVENT_KINDS]);
    expect(await allowed(database, "parley.webhook_deliveries", "status")).toEqual([...WEBHOOK_DELIVERY_STATUSES]);
  });

  it("a new user's state is the columns' defaults: INITIAL_FRIENDSHIP_STATE", async ({ database }) => {
    const client = await database.pool.connect();
    try {
      await client.query("begin");
      const { rows } = await client.query(
        "insert into parley.friendship_status (profile_id) values ('defaults_probe') returning friendship_score, friendship_level, topic_metrics");
      await client.query("rollback");
      expect({ ...rows[0], friendship_score: Number(rows[0].friendship_score) }).toEqual(INITIAL_FRIENDSHIP_STATE);
    } finally {
      client.release();
    }
  });
});
