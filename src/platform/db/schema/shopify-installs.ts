import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * A Shopify App Store install waiting to be claimed: the install callback exchanged Shopify's code for the shop's
 * access token (sealed with the master key) and showed the installer a one-time claim secret, of which only the
 * SHA-256 is kept. A claim attaches the token to the claimant's organization and deletes the row; a reinstall of the
 * same shop replaces it.
 */
export const shopifyInstalls = pgTable("shopify_installs", {
  shop: text("shop").primaryKey(),
  sealedToken: text("sealed_token").notNull(),
  /** The scopes Shopify granted, as it answered them (comma-separated). */
  scope: text("scope").notNull(),
  claimSecretHash: text("claim_secret_hash").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
