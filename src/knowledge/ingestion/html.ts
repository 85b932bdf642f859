// Readable text from HTML: Readability (Firefox's reader view) finds the article and drops navigation,
// footers and ads; the article is then written out with a blank line after every block element, so the
// chunker sees the page's paragraphs. Pages Readability finds no article in fall back to the whole body.
import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";
import { storableValue } from "../../platform/text.ts";

const BLOCKS = new Set([
  "ADDRESS", "ARTICLE", "ASIDE", "BLOCKQUOTE", "DD", "DIV", "DL", "DT", "FIGCAPTION", "FIGURE", "FORM", "H1", "H2", "H3", "H4", "H5", "H6",
  "HEADER", "HR", "LI", "MAIN", "OL", "P", "PRE", "SECTION", "TABLE", "TD", "TH", "TR", "UL", "BR", "DETAILS", "SUMMARY",
]);
const SKIPPED = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "SVG", "IFRAME", "NAV", "FOOTER"]);

export interface ReadablePage {
  title: string | null;
  text: string;
}

export function readableText(html: string): ReadablePage {
  const { document } = parse(html);
  const title = document.querySelector("title")?.textContent?.trim() || null;
  const article = new Readability(document as unknown as Document, { serializer: (node) => node }).parse();
  const fromArticle = article?.content ? blockText(article.content) : "";
  // A page's text (a NUL byte, `&#xD800;`) must still be storable.
  if (fromArticle.trim()) return storableValue({ title: article?.title?.trim() || title, text: fromArticle });
  // Readability consumed the document; parse it again for the fallback.
  const body = parse(html).document.body;
  return storableValue({ title, text: body ? blockText(body) : "" });
}

/** Same-site candidates for crawling: absolute http(s) URLs of the page's links, without fragments. */
export function pageLinks(html: string, base: URL): URL[] {
  const { document } = parse(html);
  const baseHref = document.querySelector("base[href]")?.getAttribute("href");
  const resolveFrom = baseHref ? safeUrl(baseHref, base) ?? base : base;
  const links: URL[] = [];
  for (const a of document.querySelectorAll("a[href]")) {
    const rel = (a.getAttribute("rel") ?? "").toLowerCase();
    if (rel.includes("nofollow")) continue;
    const url = safeUrl(a.getAttribute("href")!, resolveFrom);
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
    url.hash = "";
    links.push(url);
  }
  return links;
}

/** linkedom builds no body for a fragment: give it a document around it. */
function parse(html: string) {
  return parseHTML(/<html[\s>]/i.test(html) ? html : `<!doctype html><html><head></head><body>${html}</body></html>`);
}

function safeUrl(href: string, base: URL): URL | null {
  try {
    return new URL(href, base);
  } catch {
    return null;
  }
}

function blockText(root: Node): string {
  const out: string[] = [];
  const walk = (node: Node) => {
    if (node.nodeType === 3) {
      out.push(node.textContent ?? "");
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = (node as Element).tagName.toUpperCase();
    if (SKIPPED.has(tag)) return;
    const block = BLOCKS.has(tag);
    if (block) out.push("\n\n");
    for (const child of node.childNodes) walk(child);
    if (block) out.push("\n\n");
  };
  walk(root);
  return out
    .join("")
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter(Boolean)
    .join("\n\n");
}
