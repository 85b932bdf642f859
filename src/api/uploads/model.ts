// TypeBox shapes of the Uploads tag.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

export const Upload = t.Object({
  file_id: t.String({ description: "Pass as `file_id` to a knowledge source of kind file" }),
  filename: t.String(),
  contentType: t.String(),
  sizeBytes: Type.Integer(),
  sha256: t.String({ description: "SHA-256 of the bytes, hex" }),
  createdAt: t.String({ format: "date-time" }),
});
export type UploadDto = Static<typeof Upload>;
