// Uploaded files: the metadata in `uploads`, the bytes in `upload_contents` in parts (see save). Files uploaded
// before the bytes moved into the database are read from DATA_DIR/uploads/<storage_path>. A file belongs to the organization that uploaded it; another organization's
// file_id is not found.
import { and, eq, sql } from "drizzle-orm";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Db } from "../../platform/db/index.ts";
import { bytePieces, fromBase64, PIECE_BYTES, toBase64 } from "../../platform/db/pieces.ts";
import { uploadContents, uploads } from "../../platform/db/schema/index.ts";
import { UPLOAD_MAX_BYTES, uploadTooLarge } from "../../platform/http/body.ts";
import { yieldToEventLoop } from "../../platform/event-loop.ts";
import { newId } from "../../platform/ids.ts";
import { storableText } from "../../platform/text.ts";
import type { FileStore } from "../../knowledge/ingestion/index.ts";
import type { UploadDto } from "./model.ts";

type UploadRow = typeof uploads.$inferSelect;

const CONTENT_TYPES: Record<string, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  html: "text/html",
  htm: "text/html",
  md: "text/markdown",
  markdown: "text/markdown",
  csv: "text/csv",
  txt: "text/plain",
};

export function toUploadDto(row: UploadRow): UploadDto {
  return {
    file_id: row.id,
    filename: row.filename,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    sha256: row.sha256,
    createdAt: row.createdAt.toISOString(),
  };
}

export class UploadsService implements FileStore {
  private root: string;
  constructor(
    private db: Db,
    dataDir: string,
  ) {
    this.root = join(dataDir, "uploads");
  }

  /**
   * The metadata first, then the bytes in pieces, each its own statement (see platform/db/pieces.ts): not one
   * transaction, which on the embedded store would hold its only connection for the whole write. Until this
   * answers, no one knows the file_id; if a piece fails, the upload is taken back. A write cut off by a crash
   * leaves bytes short of sizeBytes, which `read` treats as no file.
   */
  async save(organizationId: string, file: File): Promise<UploadDto> {
    if (file.size > UPLOAD_MAX_BYTES) throw uploadTooLarge("the file", file.size);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const id = newId("file");
    const filename = cleanFilename(file.name);
    const [row] = await this.db
      .insert(uploads)
      .values({
        id,
        organizationId,
        filename,
        contentType: contentTypeOf(file.type, filename),
        sizeBytes: bytes.byteLength,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      })
      .returning();
    try {
      const pieces = bytes.byteLength ? bytePieces(bytes) : [bytes];
      for (const [part, piece] of pieces.entries()) {
        if (part) await yieldToEventLoop();
        await this.db.insert(uploadContents).values({ uploadId: id, part, organizationId, content: sql`decode(${toBase64(piece)}, 'base64')` });
      }
    } catch (error) {
      await this.db.delete(uploads).where(eq(uploads.id, id));
      throw error;
    }
    return toUploadDto(row!);
  }

  async find(organizationId: string, fileId: string): Promise<UploadRow | null> {
    const [row] = await this.db.select().from(uploads).where(and(eq(uploads.organizationId, organizationId), eq(uploads.id, fileId)));
    return row ?? null;
  }

  async read(organizationId: string, fileId: string) {
    const row = await this.find(organizationId, fileId);
    if (!row) return null;
    const file = { filename: row.filename, contentType: row.contentType };
    const bytes = await this.readContent(organizationId, row);
    if (bytes) return { ...file, bytes };
    if (!row.storagePath) return null;
    try {
      return { ...file, bytes: new Uint8Array(await readFile(join(this.root, row.storagePath))) };
    } catch {
      return null;
    }
  }

  /**
   * The stored bytes, a piece per statement: the parts' sizes first, then each part in slices of PIECE_BYTES
   * (an upload from before the parts is one part 0 of any size). Null when none are stored or they fall short.
   */
  private async readContent(organizationId: string, row: UploadRow): Promise<Uint8Array | null> {
    const mine = and(eq(uploadContents.organizationId, organizationId), eq(uploadContents.uploadId, row.id));
    const parts = await this.db
      .select({ part: uploadContents.part, size: sql<number>`length(${uploadContents.content})`.mapWith(Number) })
      .from(uploadContents)
      .where(mine)
      .orderBy(uploadContents.part);
    if (!parts.length || parts.reduce((sum, p) => sum + p.size, 0) !== row.sizeBytes) return null;
    const bytes = new Uint8Array(row.sizeBytes);
    let filled = 0;
    for (const { part, size } of parts) {
      for (let at = 0; at < size; at += PIECE_BYTES) {
        await yieldToEventLoop();
        const [slice] = await this.db
          .select({ data: sql<string>`encode(substring(${uploadContents.content} from ${at + 1} for ${PIECE_BYTES}), 'base64')` })
          .from(uploadContents)
          .where(and(mine, eq(uploadContents.part, part)));
        if (!slice) return null;
        const piece = fromBase64(slice.data);
        bytes.set(piece, filled);
        filled += piece.byteLength;
      }
    }
    return bytes;
  }
}

function cleanFilename(name: string | undefined): string {
  // Cutting at 255 code units can split a surrogate pair: storableText mends the half left over.
  const clean = storableText(basename((name ?? "").replace(/\\/g, "/")).replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255));
  return clean || "upload";
}

function contentTypeOf(declared: string, filename: string): string {
  const type = declared.split(";")[0]!.trim().toLowerCase();
  if (type && type !== "application/octet-stream") return type;
  return CONTENT_TYPES[filename.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? ""] ?? "application/octet-stream";
}
