import { sql } from "drizzle-orm";
import { boolean, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const organizations = pgTable(
  "organizations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** The organization created on first start; FLOWYTE_ADMIN_KEY lands here. */
    isDefault: boolean("is_default").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // At most one default organization, even if replicas starting together both tried to make it.
  (t) => [uniqueIndex("organizations_one_default").on(t.isDefault).where(sql`${t.isDefault}`)],
);
