// Text from the documents a source can hold: PDF, DOCX, HTML, Markdown, plain text and CSV. The format is
// read from the bytes where they say it (PDF and ZIP signatures), else from the content type, else from the
// file name's extension.
import { parse as parseCsv } from "csv-parse/sync";
import mammoth from "mammoth";
import { extractText as extractPdfText } from "unpdf";
import { trimEndWhere } from "../../platform/caller-text.ts";
import { storableValue } from "../../platform/text.ts";
import { IngestionError } from "./errors.ts";
import { readableText } from "./html.ts";

export type DocumentFormat = "pdf" | "docx" | "html" | "markdown" | "text" | "csv";

export interface Extracted {
  title: string | null;
  text: string;
  /** Passages already cut by the format (a CSV row each); otherwise the chunker cuts `text`. */
  passages: string[] | null;
}

const BY_TYPE: Record<string, DocumentFormat> = {
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/csv": "csv",
  "application/csv": "csv",
  "text/plain": "text",
};
const BY_EXTENSION: Record<string, DocumentFormat> = {
  pdf: "pdf",
  docx: "docx",
  html: "html",
  htm: "html",
  md: "markdown",
  markdown: "markdown",
  csv: "csv",
  txt: "text",
  text: "text",
};

export function detectFormat(bytes: Uint8Array, contentType: string | null, filename: string | null): DocumentFormat | null {
  if (startsWith(bytes, "%PDF-")) return "pdf";
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const extension = (filename ?? "").toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? "";
  // A ZIP is only a DOCX when something says so: spreadsheets and presentations are ZIPs too.
  if (startsWith(bytes, "PK\u0003\u0004")) return BY_TYPE[type] === "docx" || extension === "docx" ? "docx" : null;
  return BY_TYPE[type] ?? BY_EXTENSION[extension] ?? (type.startsWith("text/") ? "text" : null);
}

export async function extractDocument(bytes: Uint8Array, format: DocumentFormat): Promise<Extracted> {
  // A document's text (a NUL byte, an unpaired surrogate from a PDF's text layer) must still be storable.
  return storableValue(await extractByFormat(bytes, format));
}

async function extractByFormat(bytes: Uint8Array, format: DocumentFormat): Promise<Extracted> {
  switch (format) {
    case "pdf":
      return { title: null, text: await pdfText(bytes), passages: null };
    case "docx":
      return { title: null, text: await docxText(bytes), passages: null };
    case "html":
      return { ...readableText(decode(bytes)), passages: null };
    case "markdown":
      return { title: null, text: markdownText(decode(bytes)), passages: null };
    case "csv": {
      const passages = csvPassages(decode(bytes));
      return { title: null, text: passages.join("\n"), passages };
    }
    case "text":
      return { title: null, text: decode(bytes), passages: null };
  }
}

export const SUPPORTED_FORMATS = "PDF, DOCX, HTML, Markdown, plain text or CSV";

async function pdfText(bytes: Uint8Array): Promise<string> {
  let pages: string[];
  try {
    // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
    pages = (await extractPdfText(new Uint8Array(bytes), { mergePages: false })).text;
  } catch (error) {
    throw new IngestionError(`the PDF could not be read (${error instanceof Error ? error.message : "unknown error"})`);
  }
  const text = pages.map((p) => p.trim()).filter(Boolean).join("\n\n");
  if (!text) throw new IngestionError("the PDF has no text layer (scanned pages are not read); upload a PDF with selectable text");
  return text;
}

async function docxText(bytes: Uint8Array): Promise<string> {
  try {
    return (await mammoth.extractRawText({ buffer: Buffer.from(bytes) })).value;
  } catch (error) {
    throw new IngestionError(`the DOCX file could not be read (${error instanceof Error ? error.message : "unknown error"})`);
  }
}

/**
 * Markdown as prose: markup removed, link and image text kept, headings and list items as their own lines.
 * A document can be long and hostile, so no step may backtrack: where one regular expression would rescan the rest of
 * a line (or of the text) from each place a construct almost starts, the construct is found with indexOf, or the
 * failing stretch is consumed by an alternative that gives it back unchanged.
 */
export function markdownText(markdown: string): string {
  const text = markdown.replace(/\r\n?/g, "\n").replace(/^(```|~~~).*$/gm, "");
  return replaceLinks(replaceLinks(withoutComments(text).replace(/<[^>\n]+>|<[^>\n]*/g, (tag) => (tag.endsWith(">") ? "" : tag)), "!["), "[")
    .replace(/^[ \t]{0,3}\[[^\]\n]+\]:\s+\S+.*$/gm, "")
    .replace(/^\s{0,3}#{1,6}\s+(.*)$/gm, (_, heading: string) => `\n${trimEndWhere(trimEndWhere(trimEndWhere(heading, /\s/), /#/), /\s/)}\n`)
    .replace(/^\s{0,3}(?:[-*+]|\d+[.)])\s+/gm, "\n")
    .replace(/^\s{0,3}>\s?/gm, "")
    .replace(/^\s{0,3}(?:[-*_]\s*){3,}$/gm, "")
    .replace(/^.*$/gm, (line) => (TABLE_RULE.test(line.trim()) ? "" : line))
    .replace(/\|/g, " ")
    // Emphasis spans at most 200 characters: unbounded, every unclosed * or ** would scan the rest of its line.
    .replace(/(\*\*|__)(.{1,200}?)\1/g, "$2")
    .replace(/(^|\W)[*_](\S(?:.{0,200}?\S)?)[*_](?=\W|$)/g, "$1$2")
    .replace(/`([^`]+)`/g, "$1")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** A table's delimiter row (`| --- | :-: |`), trimmed: the line alone, so no run of blank lines is rescanned. */
const TABLE_RULE = /^\|?(?:\s*:?-+:?\s*\|)+\s*:?-*:?$/;

/** `text` without HTML comments (`<!--[\s\S]*?-->`, which would rescan the rest from every unclosed `<!--`). */
function withoutComments(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const open = text.indexOf("<!--", at);
    const close = open < 0 ? -1 : text.indexOf("-->", open + 4);
    if (close < 0) return out + text.slice(at);
    out += text.slice(at, open);
    at = close + 3;
  }
}

/**
 * Each `opener`text](target) replaced by its text, as `/!\[([^\]]*)\]\([^)]*\)/g` (opener `![`) and
 * `/\[([^\]]+)\]\([^)]*\)/g` (opener `[`) would, without rescanning: the first `]` and `)` after a start are the only
 * ones it can use, and every start before that `]` fails or succeeds with it.
 */
function replaceLinks(text: string, opener: "![" | "["): string {
  let out = "";
  let done = 0;
  let from = 0;
  for (;;) {
    const start = text.indexOf(opener, from);
    const close = start < 0 ? -1 : text.indexOf("]", start + opener.length);
    if (close < 0) break;
    if (text[close + 1] !== "(" || (opener === "[" && close === start + 1)) {
      from = opener === "[" && close === start + 1 ? start + 1 : close;
      continue;
    }
    const end = text.indexOf(")", close + 2);
    if (end < 0) break;
    out += text.slice(done, start) + text.slice(start + opener.length, close);
    done = from = end + 1;
  }
  return out + text.slice(done);
}

/** One passage per row: "header: value" pairs, so each row can be understood on its own. */
export function csvPassages(csv: string): string[] {
  let rows: string[][];
  try {
    rows = parseCsv(csv, { bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true, trim: true });
  } catch (error) {
    throw new IngestionError(`the CSV file could not be read (${error instanceof Error ? error.message : "unknown error"})`);
  }
  const [headers, ...records] = rows;
  if (!headers) return [];
  return records
    .map((record) =>
      record
        .map((value, i) => (value ? `${headers[i] || `column ${i + 1}`}: ${value}` : ""))
        .filter(Boolean)
        .join("; "),
    )
    .filter(Boolean)
    .map((row) => (/[.!?]$/.test(row) ? row : `${row}.`));
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}

function startsWith(bytes: Uint8Array, signature: string): boolean {
  if (bytes.length < signature.length) return false;
  for (let i = 0; i < signature.length; i++) if (bytes[i] !== signature.charCodeAt(i)) return false;
  return true;
}
