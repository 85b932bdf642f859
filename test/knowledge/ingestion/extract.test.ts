import { describe, expect, it } from "bun:test";
import { IngestionError } from "../../../src/knowledge/ingestion/errors.ts";
import { csvPassages, detectFormat, extractDocument, markdownText } from "../../../src/knowledge/ingestion/extract.ts";
import { readableText, pageLinks } from "../../../src/knowledge/ingestion/html.ts";
import { docxWithParagraphs, pdfWithLines } from "./documents.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("detecting the format", () => {
  it("trusts the bytes for PDF, needs a DOCX name or type for a ZIP, then the content type, then the extension", () => {
    expect(detectFormat(pdfWithLines(["x"]), "application/octet-stream", "scan.bin")).toBe("pdf");
    const docx = docxWithParagraphs(["x"]);
    expect(detectFormat(docx, null, "guide.docx")).toBe("docx");
    expect(detectFormat(docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", null)).toBe("docx");
    expect(detectFormat(docx, "application/zip", "sheet.xlsx")).toBeNull();
    expect(detectFormat(bytes("<p>x</p>"), "text/html; charset=utf-8", null)).toBe("html");
    expect(detectFormat(bytes("# x"), null, "README.md")).toBe("markdown");
    expect(detectFormat(bytes("a,b"), "text/csv", "x.txt")).toBe("csv");
    expect(detectFormat(bytes("plain"), "text/x-log", null)).toBe("text");
    expect(detectFormat(bytes("\u0000\u0001"), "image/png", "logo.png")).toBeNull();
  });
});

describe("extracting text", () => {
  it("reads the text layer of a PDF", async () => {
    const pdf = pdfWithLines(["Warranty terms (2024)", "Parts are covered for two years.", "Labour is covered for one year."]);
    const { text } = await extractDocument(pdf, "pdf");
    expect(text).toBe("Warranty terms (2024)\nParts are covered for two years.\nLabour is covered for one year.");
  });

  it("says why a PDF without text or a broken one cannot be used", async () => {
    await expect(extractDocument(pdfWithLines([]), "pdf")).rejects.toThrow("the PDF has no text layer");
    await expect(extractDocument(bytes("%PDF-1.4 broken"), "pdf")).rejects.toBeInstanceOf(IngestionError);
  });

  it("reads the paragraphs of a DOCX", async () => {
    const { text } = await extractDocument(docxWithParagraphs(["Onboarding guide", "New hires get a laptop & badge on day one.", "Payroll runs on the 15th."]), "docx");
    expect(text.trim().split(/\n\n/)).toEqual(["Onboarding guide", "New hires get a laptop & badge on day one.", "Payroll runs on the 15th."]);
  });

  it("keeps an HTML page's article, paragraph by paragraph, without navigation, scripts, footer or the heading that repeats the title", () => {
    const page = readableText(
      `<html><head><title>Returns | Acme</title><script>track()</script></head><body><nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>` +
        `<main><h1>Returns</h1><p>You can return any item within 30 days.</p><ul><li>Keep the receipt.</li><li>Unused items only.</li></ul></main>` +
        `<footer>© Acme 2026</footer></body></html>`,
    );
    expect(page.title).toBe("Returns | Acme");
    expect(page.text.split("\n\n")).toEqual(["You can return any item within 30 days.", "Keep the receipt.", "Unused items only."]);
  });

  it("reads an HTML fragment too, and finds a page's links resolved against it", () => {
    expect(readableText("<p>Just one line.</p>").text).toBe("Just one line.");
    const links = pageLinks(`<a href="b.html#top">b</a><a href="/c">c</a><a href="mailto:x@y.z">m</a><a rel="nofollow" href="/d">d</a>`, new URL("http://shop.test/dir/a"));
    expect(links.map(String)).toEqual(["http://shop.test/dir/b.html", "http://shop.test/c"]);
  });

  it("turns Markdown into prose: headings, lists and link text kept, markup dropped", () => {
    const md = "# Shipping\n\nWe ship **worldwide** via [our carrier](https://x.test).\n\n- Free over $50\n- `Express` available\n\n```\ncode block\n```\n";
    expect(markdownText(md)).toBe("Shipping\n\nWe ship worldwide via our carrier.\n\nFree over $50\n\nExpress available\n\ncode block");
  });

  it("makes each CSV row one passage that names its columns", async () => {
    const csv = "\uFEFFproduct,price,stock\nKettle,29.99,12\n\"Toaster, 4-slot\",49.00,\nMug,,3\n";
    expect(csvPassages(csv)).toEqual(["product: Kettle; price: 29.99; stock: 12.", "product: Toaster, 4-slot; price: 49.00.", "product: Mug; stock: 3."]);
    const extracted = await extractDocument(bytes(csv), "csv");
    expect(extracted.passages).toHaveLength(3);
    expect(extracted.text.split("\n")).toEqual(extracted.passages!);
  });

  it("reads plain text as it is", async () => {
    expect((await extractDocument(bytes("Line one.\nLine two."), "text")).text).toBe("Line one.\nLine two.");
  });
});
