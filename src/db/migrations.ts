// The embedded list of SQL migrations: imported as text so the compiled binary carries them.
// drizzle-kit writes migrations/NNNN_name.sql and meta/_journal.json; add one import per new file
// (a test fails if the journal names a migration this list lacks).
import m0000 from "../../migrations/0000_init.sql" with { type: "text" };
import m0001 from "../../migrations/0001_plans.sql" with { type: "text" };
import m0002 from "../../migrations/0002_auth.sql" with { type: "text" };
import m0003 from "../../migrations/0003_password_resets.sql" with { type: "text" };
import m0004 from "../../migrations/0004_audit_no_delete.sql" with { type: "text" };
import m0005 from "../../migrations/0005_workers.sql" with { type: "text" };
import m0006 from "../../migrations/0006_controller.sql" with { type: "text" };
import m0011 from "../../migrations/0011_chat.sql" with { type: "text" };
import m0012 from "../../migrations/0012_agents.sql" with { type: "text" };
import m0010 from "../../migrations/0010_newcomer.sql" with { type: "text" };
import m0008 from "../../migrations/0008_ops.sql" with { type: "text" };
import m0007 from "../../migrations/0007_security.sql" with { type: "text" };
import m0009 from "../../migrations/0009_ops2.sql" with { type: "text" };

export const MIGRATIONS: ReadonlyArray<{ tag: string; sql: string }> = [
  { tag: "0000_init", sql: m0000 },
  { tag: "0001_plans", sql: m0001 },
  { tag: "0002_auth", sql: m0002 },
  { tag: "0003_password_resets", sql: m0003 },
  { tag: "0004_audit_no_delete", sql: m0004 },
  { tag: "0005_workers", sql: m0005 },
  { tag: "0006_controller", sql: m0006 },
  { tag: "0011_chat", sql: m0011 },
  { tag: "0012_agents", sql: m0012 },
  { tag: "0010_newcomer", sql: m0010 },
  { tag: "0008_ops", sql: m0008 },
  { tag: "0007_security", sql: m0007 },
  { tag: "0009_ops2", sql: m0009 },
];
