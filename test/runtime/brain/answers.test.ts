// The built-in brain's answerer on passages given directly (no server): what WordNet's relatives add, and what they
// must not. The question sets (test/fixtures/answers*/) measure it as a whole: answers-quality.test.ts.
import { describe, expect, it } from "bun:test";
import { answerFromPassages } from "../../../src/runtime/brain/answers.ts";
import { lemmas, relatives } from "../../../src/runtime/brain/wordnet.ts";

const text = (id: string, body: string) => ({ id, text: body, score: 0.5, sourceId: "s1" });
const faq = (id: string, question: string, answer: string) => ({ id, text: `Q: ${question}\nA: ${answer}`, question, score: 0.5, sourceId: "s2" });

const VET = [
  text("p1", "Oakridge Clinic cares for dogs, cats and rabbits. We are at 220 Birch Road."),
  text("p2", "A wellness exam costs $65. Vaccination packages for puppies cost $120."),
  text("p3", "We move households across the Chicago area and to any of the lower 48 states."),
];

describe("WordNet", () => {
  it("gives irregular and regular words their dictionary forms", () => {
    expect(lemmas("teeth").map(([l]) => l)).toContain("tooth");
    expect(lemmas("paid").map(([l]) => l)).toContain("pay");
    expect(lemmas("charges").map(([l]) => l)).toContain("charge");
    expect(lemmas("travelling").map(([l]) => l)).toContain("travel");
    expect(lemmas("xqzt")).toEqual([]);
  });

  it("relates a word to its synonyms, its derived words and its more general words", () => {
    expect(relatives("checkup").get("exam")).toBe("synonym");
    expect(relatives("hourly").get("hour")).toBe("derived");
    expect(relatives("dog").get("canine")).toBe("hypernym");
    // A multi-word term by its head: "Lone Star State", and the class of an instance ("American state").
    expect(relatives("texas").has("state")).toBe(true);
  });
});

describe("answers from passages", () => {
  it("answers a question whose word the knowledge says otherwise", () => {
    expect(answerFromPassages("How much is a checkup?", VET)?.text).toBe("A wellness exam costs $65.");
    expect(answerFromPassages("Do you do moves to Texas?", VET)?.text).toContain("48 states");
  });

  it("does not answer on a WordNet relative alone", () => {
    // "broken" ~ "low" in one of its senses; "lower" is "low"'s comparative.
    expect(answerFromPassages("What if something gets broken?", VET)).toBeNull();
  });

  it("prefers the FAQ whose question asks what the caller asks", () => {
    const passages = [
      faq("f1", "How much does a move cost?", "Local moves are $120 per hour for two movers."),
      faq("f2", "Can I cancel?", "You can cancel free of charge up to 72 hours before; after that the $100 deposit is kept."),
      text("p1", "We sell boxes and tape."),
    ];
    expect(answerFromPassages("What's your hourly rate?", passages)?.passage.id).toBe("f1");
  });

  it("matches words in another language only on themselves", () => {
    expect(answerFromPassages("¿Cuánto cuesta un chequeo?", VET, "es")).toBeNull();
  });

  it("answers on a word only one sentence holds, though the caller adds words the knowledge never uses", () => {
    const gym = [
      text("p1", "The front desk is staffed from 6am to 10pm."),
      faq("f1", "Do you have showers and lockers?", "Yes, both changing rooms have showers, and day lockers are free."),
      text("p2", "Group classes are included in every membership."),
    ];
    expect(answerFromPassages("Can I shower after my workout?", gym)?.passage.id).toBe("f1");
    // A word held by no sentence still counts against an answer when no word is held by one sentence alone.
    expect(answerFromPassages("Do you run boxing lessons?", gym)).toBeNull();
  });

  it("matches a word without its derivational suffix, and reads 'somewhere' as saying little", () => {
    const shop = [text("p1", "Annual memberships are not refundable."), text("p2", "We are open daily from 9am."), text("p3", "Free parking behind the shop.")];
    expect(answerFromPassages("Can I get a refund?", shop)?.passage.id).toBe("p1");
    expect(answerFromPassages("Is there somewhere to park?", shop)?.passage.id).toBe("p3");
  });
});
