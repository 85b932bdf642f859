// The Uploads tag: files for knowledge sources (and later the scaffold and skill inputs), referenced by file_id.
import { Elysia } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { UPLOAD_MAX_BYTES } from "../../platform/http/body.ts";
import { validationProblem } from "../../platform/http/problem.ts";
import type { ApiContext } from "../context.ts";
import { Upload, UploadBody } from "./model.ts";
import type { UploadsService } from "./service.ts";

const tags = ["Uploads"];

export function uploadRoutes(ctx: ApiContext, uploads: UploadsService) {
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" }).use(ctx.conventions).post(
    "/uploads",
    async ({ request, set, ...c }) => {
      const file = await uploadedFile(request);
      set.status = 201;
      return ok(await uploads.save(org(c), file));
    },
    {
      scope: "knowledge:write",
      // Read by hand from the request (Elysia would buffer and parse it first); the multipart body is described in
      // `detail` instead of validated by a schema.
      parse: "none",
      response: { 201: Envelope(Upload), ...problems(400, 413, 415) },
      detail: {
        summary: "Upload a file",
        description:
          `Body: multipart/form-data with one \`file\` part of at most 25 MB (${UPLOAD_MAX_BYTES} bytes); a larger file is 413 file_too_large. ` +
          "Answers a file_id for a knowledge source of kind file. Files belong to the organization that uploaded them.",
        requestBody: UploadBody,
        tags,
      },
    },
  );
}

async function uploadedFile(request: Request): Promise<File> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw validationProblem([{ field: "body", message: "is not a readable multipart/form-data body" }]);
  }
  const file = form.get("file");
  if (!(file instanceof File)) throw validationProblem([{ field: "file", message: "is required: a multipart part named file holding the document" }]);
  return file;
}
