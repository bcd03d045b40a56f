// The API key `npm start` makes for a developer's machine (embedded PostgreSQL, no
// PARLEY_API_KEYS): kept in .data/api-key, readable by its owner only, reused across runs.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export const DEV_KEY_FILE = path.join(".data", "api-key");

/** The stored key, or undefined when there is none. */
export async function readDevKey(file = DEV_KEY_FILE): Promise<string | undefined> {
  try {
    const key = (await readFile(file, "utf8")).trim();
    return key.length >= 16 ? key : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The stored key, made and stored first if there is none. */
export async function ensureDevKey(file = DEV_KEY_FILE): Promise<string> {
  const existing = await readDevKey(file);
  if (existing !== undefined) return existing;
  const key = `pk_dev_${randomBytes(24).toString("base64url")}`;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}
