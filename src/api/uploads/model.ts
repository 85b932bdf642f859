// TypeBox shapes of the Uploads tag.
import { Type } from "@sinclair/typebox";
import { t, type DocumentDecoration, type Static } from "elysia";

export const Upload = t.Object({
  file_id: t.String({ description: "Pass as `file_id` to a knowledge source of kind file" }),
  filename: t.String(),
  contentType: t.String(),
  sizeBytes: Type.Integer(),
  sha256: t.String({ description: "SHA-256 of the bytes, hex" }),
  createdAt: t.String({ format: "date-time" }),
}, { $id: "Upload" });
export type UploadDto = Static<typeof Upload>;

/** The request body of POST /uploads, for the OpenAPI document (the route reads the multipart body itself). */
export const UploadBody: DocumentDecoration["requestBody"] = {
  required: true,
  content: {
    "multipart/form-data": {
      schema: {
        type: "object",
        required: ["file"],
        properties: {
          file: { type: "string", format: "binary", description: "The document: PDF, DOCX, HTML, Markdown, plain text or CSV, at most 25 MB (26214400 bytes)" },
        },
      },
    },
  },
};
