import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { docxWithParagraphs, pdfWithLines } from "../../knowledge/ingestion/documents.ts";

const MB = 1024 * 1024;
let app: TestApp;
let org: { organizationId: string; key: string };
let agentId: string;

beforeAll(async () => {
  app = await startTestApp();
  org = await app.newOrg();
  agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Docs" } })).body.data.id;
});
afterAll(async () => {
  await app?.stop();
});

async function upload(file: Blob, filename: string, key = org.key) {
  const form = new FormData();
  form.append("file", file, filename);
  const res = await fetch(`${app.url}/api/v1/uploads`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

async function fileSource(fileId: string, label: string) {
  const res = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key: org.key, body: { kind: "file", label, file_id: fileId } });
  expect(res.status).toBe(201);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const source = (await app.api("GET", `/api/v1/agents/${agentId}/knowledge/sources/${res.body.data.id}`, { key: org.key })).body.data;
    if (source.status === "indexed" || source.status === "error") return source;
    if (Date.now() > deadline) throw new Error(`still ${source.status}`);
    await Bun.sleep(100);
  }
}

describe("POST /uploads", () => {
  it("stores the file for the organization and answers its file_id, size and checksum", async () => {
    const text = "# Store hours\n\nWe are open from 9 to 5.";
    const res = await upload(new Blob([text], { type: "text/markdown" }), "hours.md");
    expect(res.status).toBe(201);
    const data = res.body.data;
    expect(data).toMatchObject({ filename: "hours.md", contentType: "text/markdown", sizeBytes: text.length, sha256: createHash("sha256").update(text).digest("hex") });
    expect(data.file_id).toMatch(/^file_[0-9A-Z]{26}$/);
    expect(Date.parse(data.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    // The bytes are in the database, which every replica and every backup sees, not in this process's DATA_DIR.
    const [stored] = await app.query<{ content: Uint8Array; organization_id: string }>(`select content, organization_id from upload_contents where upload_id = '${data.file_id}'`);
    expect(Buffer.from(stored!.content).toString("utf8")).toBe(text);
    expect(stored!.organization_id).toBe(org.organizationId);
    expect(existsSync(join(app.config.dataDir, "uploads"))).toBe(false);
  });

  it("takes a type from the file name when the client sends none, and keeps only the name's last segment", async () => {
    const res = await upload(new Blob(["a,b\n1,2\n"]), "../../etc/prices.csv");
    expect(res.body.data).toMatchObject({ filename: "prices.csv", contentType: "text/csv" });
  });

  it("accepts 25 MB and refuses anything larger with 413 file_too_large naming the limit", async () => {
    const exact = await upload(new Blob([new Uint8Array(25 * MB)]), "exact.txt");
    expect(exact.status).toBe(201);
    expect(exact.body.data.sizeBytes).toBe(25 * MB);
    const over = await upload(new Blob([new Uint8Array(25 * MB + 1)]), "over.txt");
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ code: "file_too_large", status: 413, detail: "the file is 26,214,401 bytes; an upload may be at most 25 MB (26,214,400 bytes)" });
    // A body whose Content-Length is already over the limit is refused before it is read, with the same code.
    const farOver = await upload(new Blob([new Uint8Array(27 * MB)]), "far.txt");
    expect(farOver.status).toBe(413);
    expect(farOver.body.code).toBe("file_too_large");
    expect(farOver.body.detail).toMatch(/^the request body is 28,\d{3},\d{3} bytes; an upload may be at most 25 MB \(26,214,400 bytes\)$/);
  });

  it("is documented in the OpenAPI document with its multipart/form-data body and file part", async () => {
    const doc = (await app.api("GET", "/api/v1/openapi.json", { key: null })).body;
    const op = doc.paths["/uploads"].post;
    expect(op.requestBody).toEqual({
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["file"],
            additionalProperties: false,
            properties: { file: { type: "string", format: "binary", description: expect.stringContaining("at most 25 MB (26214400 bytes)") } },
          },
        },
      },
    });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["201", "400", "413", "415"]));
    expect(op.description).toContain("413 file_too_large");
  });

  it("needs a multipart body with a file part, and knowledge:write", async () => {
    const json = await app.api("POST", "/api/v1/uploads", { key: org.key, body: { file: "hello" } });
    expect(json.status).toBe(400);
    expect(json.body.errors).toEqual([{ field: "body", message: "is not a readable multipart/form-data body" }]);
    const form = new FormData();
    form.append("other", "value");
    const noFile = await fetch(`${app.url}/api/v1/uploads`, { method: "POST", headers: { authorization: `Bearer ${org.key}` }, body: form });
    expect(noFile.status).toBe(400);
    expect(((await noFile.json()) as any).errors[0].field).toBe("file");
    const reader = await app.keyWith(org.organizationId, ["knowledge:read"]);
    const refused = await upload(new Blob(["x"]), "x.txt", reader);
    expect(refused.status).toBe(403);
    expect(refused.body.requiredScope).toBe("knowledge:write");
  });
});

describe("file sources", () => {
  it("indexes an uploaded PDF, DOCX, HTML, Markdown, text and CSV file", async () => {
    const files: [Blob, string, string][] = [
      [new Blob([pdfWithLines(["Warranty", "Parts are covered for two years."])], { type: "application/pdf" }), "warranty.pdf", "covered for two years"],
      [new Blob([docxWithParagraphs(["Onboarding", "New hires get a laptop on day one."])]), "onboarding.docx", "laptop on day one"],
      [new Blob(["<html><body><article><h2>Pets</h2><p>Dogs are welcome in the garden centre.</p></article></body></html>"], { type: "text/html" }), "pets.html", "Dogs are welcome"],
      [new Blob(["## Parking\n\nParking is **free** on Sundays."]), "parking.md", "Parking is free on Sundays"],
      [new Blob(["Gift cards never expire."], { type: "text/plain" }), "cards.txt", "never expire"],
      [new Blob(["item,price\nKettle,30\nToaster,45\n"], { type: "text/csv" }), "prices.csv", "item: Toaster; price: 45."],
    ];
    for (const [blob, filename, expected] of files) {
      const uploaded = await upload(blob, filename);
      const source = await fileSource(uploaded.body.data.file_id, filename);
      expect({ filename, status: source.status, error: source.errorMessage }).toEqual({ filename, status: "indexed", error: null });
      expect(source.fileId).toBe(uploaded.body.data.file_id);
      expect(source.textContent).toContain(expected);
    }
    const csv = (await app.api("POST", `/api/v1/agents/${agentId}/knowledge/preview`, { key: org.key, body: { query: "How much is a toaster?" } })).body.data;
    expect(csv.chunks[0].text).toBe("item: Toaster; price: 45.");
  });

  it("ends in error, saying why, for a file type it cannot read", async () => {
    const uploaded = await upload(new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])], { type: "image/png" }), "logo.png");
    const source = await fileSource(uploaded.body.data.file_id, "Logo");
    expect(source).toMatchObject({ status: "error", errorMessage: "logo.png (image/png) is not a file type that can be read; upload PDF, DOCX, HTML, Markdown, plain text or CSV" });
  });

  it("still reads a file uploaded before the bytes moved into the database, from DATA_DIR/uploads", async () => {
    const fileId = "file_01LEGACY0000000000000000";
    mkdirSync(join(app.config.dataDir, "uploads", org.organizationId), { recursive: true });
    writeFileSync(join(app.config.dataDir, "uploads", org.organizationId, fileId), "The shop closes at noon on Christmas Eve.");
    await app.query(
      `insert into uploads (id, organization_id, filename, content_type, size_bytes, sha256, storage_path) values ('${fileId}', '${org.organizationId}', 'eve.txt', 'text/plain', 41, 'x', '${org.organizationId}/${fileId}')`,
    );
    const source = await fileSource(fileId, "Christmas Eve");
    expect(source).toMatchObject({ status: "indexed", textContent: "The shop closes at noon on Christmas Eve." });
  });

  it("refuses another organization's file_id", async () => {
    const other = await app.newOrg();
    const theirs = await upload(new Blob(["secret"]), "secret.txt", other.key);
    const res = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key: org.key, body: { kind: "file", label: "Theirs", file_id: theirs.body.data.file_id } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe("file_id");
  });
});

// Large values are written and read a piece per statement (platform/db/pieces.ts), so no single statement holds the
// embedded store for a second; the pieces must join back to exactly what was sent, whatever falls on a boundary.
describe("a large upload and its text, stored in parts", () => {
  const PIECE = 256 * 1024;
  // One byte ("a") ahead of 4-byte, 3-byte and 2-byte characters: piece boundaries at every multiple of 256 KiB fall
  // inside characters, both in the UTF-8 bytes and (for 😀, two UTF-16 code units) in the text.
  const pattern = ["😀", "日本", "é", "ß", "😀😀", "語"];
  let text = "a";
  for (let i = 0; new TextEncoder().encode(text).byteLength < 2.5 * PIECE; i++) text += pattern[i % pattern.length] + (i % 40 === 39 ? "\n\n" : " ");
  text = text.trim();
  const bytes = new TextEncoder().encode(text);

  it("keeps every byte of a file larger than a piece, split mid-character, and the text extracted from it", async () => {
    const splitsACharacter = [PIECE, 2 * PIECE].some((at) => (bytes[at]! & 0xc0) === 0x80);
    expect(splitsACharacter).toBe(true);
    const uploaded = await upload(new Blob([bytes], { type: "text/plain" }), "multilingual.txt");
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.data).toMatchObject({ sizeBytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") });
    const parts = await app.query<{ part: number; content: Uint8Array }>(`select part, content from upload_contents where upload_id = '${uploaded.body.data.file_id}' order by part`);
    expect(parts.map((p) => p.part)).toEqual([0, 1, 2]);
    expect(Buffer.concat(parts.map((p) => Buffer.from(p.content))).equals(Buffer.from(bytes))).toBe(true);

    const source = await fileSource(uploaded.body.data.file_id, "Multilingual");
    expect(source.status).toBe("indexed");
    expect(source.textContent).toBe(text);
  });

  it("keeps a pasted text larger than a piece exactly, with a surrogate pair on the boundary", async () => {
    // "a" then two-unit emoji: code unit 262,144 is the first half of a pair.
    const pasted = `a${"😀".repeat(PIECE / 2 + 10)}`;
    expect(pasted.charCodeAt(PIECE - 1)).toBe(0xd83d);
    const created = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key: org.key, body: { kind: "text", label: "Emoji", text: pasted } });
    expect(created.status).toBe(201);
    expect(created.body.data.textContent).toBe(pasted);
    const read = (await app.api("GET", `/api/v1/agents/${agentId}/knowledge/sources/${created.body.data.id}`, { key: org.key })).body.data;
    expect(read.textContent).toBe(pasted);
    const parts = await app.query<{ n: number }>(`select count(*)::int as n from knowledge_source_text_parts where source_id = '${created.body.data.id}'`);
    expect(parts[0]!.n).toBe(2);
  });

  it("still reads an upload stored as one part larger than a piece, as uploads from before the parts are", async () => {
    const fileId = "file_01ONEPART00000000000000";
    await app.query(
      `insert into uploads (id, organization_id, filename, content_type, size_bytes, sha256) values ('${fileId}', '${org.organizationId}', 'old.txt', 'text/plain', ${bytes.byteLength}, 'x')`,
    );
    await app.query(`insert into upload_contents (upload_id, organization_id, content) values ('${fileId}', '${org.organizationId}', decode('${Buffer.from(bytes).toString("base64")}', 'base64'))`);
    const source = await fileSource(fileId, "Old upload");
    expect(source.status).toBe("indexed");
    expect(source.textContent).toBe(text);
  });
});
