// Runs before every `bun test`: regenerates the UnoCSS stylesheet the app embeds when a view changed,
// and keeps the server's own log to warnings and errors (AGENTVINE_LOG_LEVEL=debug shows everything).
import { buildCss, cssIsStale } from "../scripts/build-css.ts";
import { setLogLevel, type LogLevel } from "../src/log.ts";

if (cssIsStale()) await buildCss();
setLogLevel((process.env.AGENTVINE_LOG_LEVEL as LogLevel | undefined) ?? "warn");
