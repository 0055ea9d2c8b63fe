// Runs before every `bun test`: regenerates the UnoCSS stylesheet the app embeds when a view changed.
import { buildCss, cssIsStale } from "../scripts/build-css.ts";

if (cssIsStale()) await buildCss();
