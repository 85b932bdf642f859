-- Replicas that raced at first start may have made several default organizations: the first one made stays default.
UPDATE "organizations" SET "is_default" = false WHERE "is_default" AND "id" <> (SELECT min("id") FROM "organizations" WHERE "is_default");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_one_default" ON "organizations" USING btree ("is_default") WHERE "organizations"."is_default";
