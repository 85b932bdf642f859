// Uploaded files: the bytes under DATA_DIR/uploads/<organization>/<id>, the metadata in `uploads`. A file
// belongs to the organization that uploaded it; another organization's file_id is not found.
import { and, eq } from "drizzle-orm";
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Db } from "../../platform/db/index.ts";
import { uploads } from "../../platform/db/schema/index.ts";
import { UPLOAD_MAX_BYTES } from "../../platform/http/body.ts";
import { Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
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
    if (file.size > UPLOAD_MAX_BYTES) throw fileTooLarge(file.size);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const id = newId("file");
    const storagePath = join(organizationId, id);
    const path = join(this.root, storagePath);
    await mkdir(join(this.root, organizationId), { recursive: true });
    // Written aside and renamed, so a crash never leaves a half-written file under a registered id.
    await writeFile(`${path}.part`, bytes);
    await rename(`${path}.part`, path);
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
        storagePath,
      })
      .returning();
    return toUploadDto(row!);
  }

  async find(organizationId: string, fileId: string): Promise<UploadRow | null> {
    const [row] = await this.db.select().from(uploads).where(and(eq(uploads.organizationId, organizationId), eq(uploads.id, fileId)));
    return row ?? null;
  }

  async read(organizationId: string, fileId: string) {
    const row = await this.find(organizationId, fileId);
    if (!row) return null;
    try {
      return { filename: row.filename, contentType: row.contentType, bytes: new Uint8Array(await readFile(join(this.root, row.storagePath))) };
    } catch {
      return null;
    }
  }
}

/** The spec's code for an upload over the limit. */
function fileTooLarge(size: number): Problem {
  return new Problem(413, "file_too_large", `the file is ${size.toLocaleString("en-US")} bytes; an upload may be at most 25 MB (${UPLOAD_MAX_BYTES.toLocaleString("en-US")} bytes)`);
}

function cleanFilename(name: string | undefined): string {
  const clean = basename((name ?? "").replace(/\\/g, "/")).replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return clean || "upload";
}

function contentTypeOf(declared: string, filename: string): string {
  const type = declared.split(";")[0]!.trim().toLowerCase();
  if (type && type !== "application/octet-stream") return type;
  return CONTENT_TYPES[filename.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? ""] ?? "application/octet-stream";
}
