// The Uploads tag: files for knowledge sources (and later the scaffold and skill inputs), referenced by file_id.
import { Elysia } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import type { ApiContext } from "../context.ts";
import { Upload, UploadBody } from "./model.ts";
import type { UploadsService } from "./service.ts";

const tags = ["Uploads"];

export function uploadRoutes(ctx: ApiContext, uploads: UploadsService) {
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" }).use(ctx.conventions).post(
    "/uploads",
    async ({ body, set, ...c }) => {
      set.status = 201;
      return ok(await uploads.save(org(c), body.file));
    },
    {
      scope: "knowledge:write",
      body: UploadBody,
      response: { 201: Envelope(Upload), ...problems(400, 413, 415) },
      detail: {
        summary: "Upload a file",
        description:
          "multipart/form-data with one `file` part of at most 25 MB (413 payload_too_large above). Answers a file_id for a knowledge source of kind file. " +
          "Files belong to the organization that uploaded them.",
        tags,
      },
    },
  );
}
