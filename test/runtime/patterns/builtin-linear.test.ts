// The server's own patterns over caller text (extractors, PII redaction, the built-in brain, summaries, sitemaps,
// markdown) must take time linear in the text's length. Each case runs on an adversarial text of n and of 4n
// characters (runs that almost match: "....", "x@x@", "1 1 1", long whitespace) and compares the work: linear work
// grows about 4×, the quadratic patterns this guards against grew 16×. Work is the process's CPU time over many calls,
// best of several rounds after a collection, so another process keeping the cores busy does not count; the bound (11×)
// leaves room for the collector's own threads.
import { describe, expect, it } from "bun:test";
import { parseSitemap } from "../../../src/knowledge/ingestion/crawl.ts";
import { markdownText } from "../../../src/knowledge/ingestion/extract.ts";
import { findEmailAddress, replaceEmailAddresses } from "../../../src/platform/caller-text.ts";
import { OfflineIndex } from "../../../src/platform/geo/offline.ts";
import { redactSecrets } from "../../../src/platform/log.ts";
import { extractParameter, wantsPerson } from "../../../src/runtime/brain/builtin.ts";
import { extract, type SlotType } from "../../../src/runtime/extractors.ts";
import { summarizeConversation } from "../../../src/runtime/summary.ts";
import { terms } from "../../../src/platform/tokens.ts";
import { searchQuery } from "../../../src/runtime/brain/answers.ts";
import { redactPii } from "../../../src/runtime/text.ts";

const N = 4000;
const LINEAR_GROWTH = 4;
const BOUND = 11;

/** Texts of about `n` characters that make a backtracking pattern retry from each character. */
const ADVERSARIAL: Record<string, (n: number) => string> = {
  dots: (n) => `${".".repeat(n)}-.AA`,
  "x@": (n) => "x@".repeat(n / 2),
  "a.a.": (n) => `a@${"a.".repeat(n / 2)}`,
  "spaces then at": (n) => `${"\t".repeat(n)}\tA\tAT\t`,
  "spaced digits": (n) => "1 ".repeat(n / 2),
  "dashed digits": (n) => "1-".repeat(n / 2),
  "letters and dashes": (n) => `${"A--".repeat(n / 3)}\u0000`,
  "identifier tail": (n) => `_1${"-B".repeat(n / 2)}`,
  "get me": (n) => `${"get me ".repeat(n / 7)}\n`,
  "and and": (n) => `my name is Ann${" and d".repeat(n / 6)}`,
  "stops then x": (n) => `${"!".repeat(n)}\u0000!`,
  quotes: (n) => `x${"'".repeat(n)}x`,
  "no sentence end": (n) => "word ".repeat(n / 5),
  "open comments": (n) => "<!--".repeat(n / 4),
  "open tags": (n) => "<<".repeat(n / 2),
  "open links": (n) => "![](".repeat(n / 4),
  "open brackets": (n) => "[(".repeat(n / 2),
  "emphasis": (n) => `\t${"\u0000*0".repeat(n / 3)}\n`,
  headings: (n) => `#\n\u0000${"\t".repeat(n)}\t\u0000`,
  tables: (n) => `${"\n".repeat(n / 2)}\n\t${"\t".repeat(n / 2)}\t-\n|\t`,
  "sitemap spaces": (n) => `<LOC>${"\t".repeat(n)}!\t</loc`,
  "date slashes": (n) => "1/".repeat(n / 2),
};

/** CPU milliseconds of one call, over at least 5 ms of calls, best of three rounds. */
function work(run: () => unknown): number {
  let best = Infinity;
  Bun.gc(true);
  for (let round = 0; round < 3; round++) {
    const start = process.cpuUsage();
    let calls = 0;
    let spent = 0;
    do {
      run();
      calls++;
      const used = process.cpuUsage(start);
      spent = (used.user + used.system) / 1000;
    } while (spent < 5);
    best = Math.min(best, spent / calls);
  }
  return best;
}

/** How much more work `fn` does on 4n characters than on n: about 4 when linear, 16 when quadratic. */
function growth(fn: (text: string) => unknown, make: (n: number) => string): number {
  const small = make(N);
  const large = make(4 * N);
  return Math.round((work(() => fn(large)) / work(() => fn(small))) * 10) / 10;
}

function expectLinear(fn: (text: string) => unknown) {
  const superLinear: Record<string, number> = {};
  for (const [name, make] of Object.entries(ADVERSARIAL)) {
    // A busy machine can make one comparison unlucky; a quadratic pattern is over the bound every time.
    let g = growth(fn, make);
    for (let attempt = 0; attempt < 2 && g > BOUND; attempt++) g = Math.min(g, growth(fn, make));
    if (g > BOUND) superLinear[name] = g;
  }
  expect(superLinear).toEqual({});
}

describe("built-in patterns over caller text take linear time", () => {
  it("self-check: the measure tells a quadratic pattern from a linear one", () => {
    const dots = ADVERSARIAL.dots!;
    expect(growth((text) => /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/.exec(text), dots)).toBeGreaterThan(BOUND);
    expect(growth((text) => text.split("").length, dots)).toBeGreaterThan(LINEAR_GROWTH / 2);
  });

  const slotTypes: SlotType[] = ["text", "yes_no", "email", "phone", "digits", "number", "integer", "name", "address", "choice", "date", "time", "datetime"];
  for (const type of slotTypes) {
    it(`extracts a ${type} slot`, () => expectLinear((text) => extract(type, text, { options: ["red", "green"] })));
  }

  it("finds and replaces e-mail addresses", () => {
    expectLinear(findEmailAddress);
    expectLinear((text) => replaceEmailAddresses(text, "[email]"));
  });

  it("redacts PII for storage (redactPii) and for log lines (redactSecrets)", () => {
    expectLinear(redactPii);
    expectLinear(redactSecrets);
  });

  it("recognizes a request for a person and fills skill parameters in the built-in brain", () => {
    expectLinear(wantsPerson);
    expectLinear((text) => extractParameter("order_id", {}, text, "US"));
    expectLinear((text) => extractParameter("postcode", {}, text, "US"));
    expectLinear((text) => extractParameter("customer_email", {}, text, "US"));
  });

  it("summarizes a conversation, tokenizes an utterance and widens a question for the knowledge search", () => {
    expectLinear((text) => summarizeConversation({ messages: [{ role: "user", content: text }], events: [], goalCompleted: false, outcome: "completed" }));
    expectLinear((text) => terms(text));
    expectLinear((text) => searchQuery(text));
  });

  it("reads a sitemap and a markdown document", () => {
    expectLinear(parseSitemap);
    expectLinear(markdownText);
  });

  it("strips the country from an address before geocoding", async () => {
    const index = new OfflineIndex(await import("zipcodes"));
    expectLinear((text) => index.place(text));
  });
});
