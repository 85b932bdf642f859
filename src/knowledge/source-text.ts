// A knowledge source's extracted text, stored in parts under a version (see platform/db/pieces.ts): a new text is
// written whole under its own version while the source still points at the text in use, then the source is
// pointed at it in a short update, then the old parts go. A reader never sees half a text.
import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../platform/db/index.ts";
import { textPieces } from "../platform/db/pieces.ts";
import { yieldToEventLoop } from "../platform/event-loop.ts";
import { knowledgeSourceTextParts } from "../platform/db/schema/index.ts";

const parts = knowledgeSourceTextParts;

/** Writes `text` as version `version` of the source's text, a part per statement, replacing any earlier write of it. */
export async function writeSourceText(db: Db, sourceId: string, version: string, text: string): Promise<void> {
  await db.delete(parts).where(and(eq(parts.sourceId, sourceId), eq(parts.version, version)));
  // An empty text is one empty part, so it reads back as "" rather than none.
  for (const [part, piece] of (text ? textPieces(text) : [""]).entries()) {
    await yieldToEventLoop();
    await db.insert(parts).values({ sourceId, version, part, text: piece });
  }
}

/** The text stored as `version`, read a part per statement; null when there is none. */
export async function readSourceText(db: Db, sourceId: string, version: string | null): Promise<string | null> {
  if (version === null) return null;
  const pieces: string[] = [];
  for (let part = 0; ; part++) {
    if (part) await yieldToEventLoop();
    const [row] = await db
      .select({ text: parts.text })
      .from(parts)
      .where(and(eq(parts.sourceId, sourceId), eq(parts.version, version), eq(parts.part, part)));
    if (!row) break;
    pieces.push(row.text);
  }
  return pieces.length ? pieces.join("") : null;
}

/** Drops every version of the source's text but `keep` (texts written by runs that did not finish, or replaced). */
export async function dropOtherSourceTexts(db: Db, sourceId: string, keep: string | null): Promise<void> {
  await db.delete(parts).where(keep === null ? eq(parts.sourceId, sourceId) : and(eq(parts.sourceId, sourceId), ne(parts.version, keep)));
}
