// Uploaded files: the metadata in `uploads`, the bytes in `upload_contents`, written in one transaction so no
// upload is ever registered without its bytes. Files uploaded before the bytes moved into the database are read
// from DATA_DIR/uploads/<storage_path>. A file belongs to the organization that uploaded it; another organization's
// file_id is not found.
import { and, eq } from "drizzle-orm";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Db } from "../../platform/db/index.ts";
import { uploadContents, uploads } from "../../platform/db/schema/index.ts";
import { UPLOAD_MAX_BYTES, uploadTooLarge } from "../../platform/http/body.ts";
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

  async save(organizationId: string, file: File): Promise<UploadDto> {
    if (file.size > UPLOAD_MAX_BYTES) throw uploadTooLarge("the file", file.size);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const id = newId("file");
    const filename = cleanFilename(file.name);
    const row = await this.db.transaction(async (tx) => {
      const [row] = await tx
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
      await tx.insert(uploadContents).values({ uploadId: id, organizationId, content: bytes });
      return row!;
    });
    return toUploadDto(row);
  }

  async find(organizationId: string, fileId: string): Promise<UploadRow | null> {
    const [row] = await this.db.select().from(uploads).where(and(eq(uploads.organizationId, organizationId), eq(uploads.id, fileId)));
    return row ?? null;
  }

  async read(organizationId: string, fileId: string) {
    const row = await this.find(organizationId, fileId);
    if (!row) return null;
    const [stored] = await this.db
      .select({ content: uploadContents.content })
      .from(uploadContents)
      .where(and(eq(uploadContents.organizationId, organizationId), eq(uploadContents.uploadId, fileId)));
    const file = { filename: row.filename, contentType: row.contentType };
    if (stored) return { ...file, bytes: new Uint8Array(stored.content) };
    if (!row.storagePath) return null;
    try {
      return { ...file, bytes: new Uint8Array(await readFile(join(this.root, row.storagePath))) };
    } catch {
      return null;
    }
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
