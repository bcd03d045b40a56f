import { loadConfig } from "../config.js";
import { createLogger } from "../log.js";
import { migrate } from "./migrate.js";
import { requireDatabaseUrl } from "./database-url.js";

const config = loadConfig();
const log = createLogger(config.logLevel, "parley-migrate", config.logFormat);
const { applied } = await migrate(requireDatabaseUrl(config));
log.info({ applied }, applied.length ? `applied ${applied.length} migration(s) and the SQL API` : "schema up to date; SQL API re-applied");
