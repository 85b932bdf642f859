import { describe, expect, it } from "bun:test";
import { summarizeConversation, type SummaryInput } from "../../src/runtime/summary.ts";

const user = (content: string) => ({ role: "user" as const, content });
const agent = (content: string) => ({ role: "assistant" as const, content });
const event = (eventType: string, payload: Record<string, unknown>) => ({ eventType, payload });
/** What the runtime records when it says a fixed sentence: the words, and the sentence's id. */
const said = (text: string, id: string, language = "en") => event("agent_message", { text, language, phrases: [{ id }] });
const summarize = (input: Partial<SummaryInput>) => summarizeConversation({ messages: [], events: [], goalCompleted: false, outcome: "completed", ...input });

describe("summarizeConversation", () => {
  it("names the transfer rule and number a caller was handed to", () => {
    const got = summarize({
      messages: [agent("Hello!"), user("Do you deliver to 80202?"), agent("Let me connect you with someone who can help. Please hold.")],
      events: [event("handoff", { destination: "+14155550100", ruleLabel: "Billing", warm: false })],
      outcome: "transferred",
    });
    expect(got).toEqual({ summary: 'Caller asked "Do you deliver to 80202?"; transferred to Billing (+14155550100).', topic: "deliver" });
  });

  it("says referred on chat, where the conversation goes on after the agent gives the number", () => {
    const got = summarize({ messages: [user("I want to talk to a person about my bill")], events: [event("handoff", { destination: "+14155550100", ruleLabel: null })] });
    expect(got.summary).toBe("Caller wanted to talk to a person about their bill; referred to +14155550100.");
    expect(got.topic).toBe("person bill");
  });

  it("reports the action a skill took, with the ticket number from its result", () => {
    const got = summarize({
      messages: [user("Hi there, I need to book a repair visit for a plumbing problem"), user("My kitchen sink is leaking"), user("yes")],
      events: [
        event("tool_call", { skillName: "lookup_customer", status: "ok", result: { name: "Ann" } }),
        event("tool_call", { skillName: "create_service_request", status: "ok", result: { ticket: "T-1001", eta: "tomorrow" } }),
      ],
      goalCompleted: true,
    });
    expect(got).toEqual({ summary: "Caller wanted to book a repair visit for a plumbing problem; created service request (ticket T-1001).", topic: "repair visit plumbing" });
  });

  it("reads camel-cased names and reference keys", () => {
    const got = summarize({ events: [event("tool_call", { skillName: "bookVisit", status: "ok", result: { confirmationNumber: 88123 } })], goalCompleted: true });
    expect(got).toEqual({ summary: "Booked visit (confirmation 88123).", topic: "visit" });
  });

  it("falls back to 'used' for a skill whose name starts with no known verb", () => {
    expect(summarize({ events: [event("tool_call", { skillName: "order_status", status: "ok", result: { status: "shipped" } })] }).summary).toBe("Used order status.");
  });

  it("ignores action markers and verification calls when reporting what happened", () => {
    const got = summarize({
      messages: [user("Please cancel my appointment"), agent("Got it. I'll pass your message on and someone will get back to you. Anything else?")],
      events: [
        said("Got it. I'll pass your message on and someone will get back to you. Anything else?", "message.taken"),
        event("tool_call", { skillName: "verify_caller", status: "ok", result: { match: true }, purpose: "verification" }),
        event("tool_call", { skillName: "take_message", status: "ok", result: { action: "take_message" } }),
      ],
      goalCompleted: true,
    });
    expect(got).toEqual({ summary: "Caller wanted to cancel their appointment; left a message.", topic: "cancel appointment" });
  });

  it("reports refused and failed actions", () => {
    expect(summarize({ messages: [user("Refund order 5521 please")], events: [event("tool_call", { skillName: "issue_refund", status: "blocked" })] }).summary).toBe(
      'Caller said "Refund order 5521 please"; issue refund was refused by a guardrail.',
    );
    expect(summarize({ events: [event("tool_call", { skillName: "create_booking", status: "error", errorCode: "timeout" })] }).summary).toBe("Create booking failed.");
  });

  it("reports failed verification, errors, unanswered questions and answers from knowledge", () => {
    const question = user("What are your prices for drain cleaning?");
    expect(summarize({ messages: [question], events: [event("verification", { status: "locked" })] }).summary).toMatch(/; caller verification failed\.$/);
    expect(summarize({ messages: [question], events: [event("error", { code: "turn_failed" })] }).summary).toMatch(/; the agent hit an error\.$/);
    expect(summarize({ messages: [question, agent("I'm sorry, I don't know the answer to that.")], events: [said("I'm sorry, I don't know the answer to that.", "answer.unknown")] }).summary).toMatch(
      /; the agent could not answer\.$/,
    );
    expect(summarize({ messages: [question], events: [event("kb_retrieval", { passages: [{ id: "p1" }] })] }).summary).toBe(
      'Caller asked "What are your prices for drain cleaning?"; answered from knowledge.',
    );
  });

  it("summarizes a conversation where the caller never spoke, with no topic", () => {
    expect(summarize({ messages: [agent("Hello! How can I help you today?")], outcome: "abandoned" })).toEqual({ summary: "Ended before the caller spoke.", topic: null });
  });

  it("skips greetings and short answers to find the request, and keeps redaction markers out of the topic", () => {
    const got = summarize({ messages: [user("hello"), user("yes"), user("Send the invoice to [email] please.")], goalCompleted: true });
    expect(got).toEqual({ summary: 'Caller said "Send the invoice to [email] please"; request completed.', topic: "send invoice" });
  });

  it("clips a long request at a word boundary", () => {
    const long = `I would like to ${"arrange a very long and complicated delivery ".repeat(4)}`;
    const got = summarize({ messages: [user(long)] });
    expect(got.summary.startsWith("Caller wanted to arrange a very long and complicated delivery arrange")).toBe(true);
    expect(got.summary).toMatch(/\w…; conversation ended\.$/);
  });

  it("reads the runtime's fixed sentences by their id, whatever their words or language", () => {
    const question = user("Wann haben Sie am Samstag geöffnet?");
    const unknown = said("Das tut mir leid, darauf weiß ich keine Antwort.", "answer.unknown", "de");
    expect(summarize({ messages: [question, agent("Das tut mir leid, darauf weiß ich keine Antwort.")], events: [unknown] }).summary).toMatch(/; the agent could not answer\.$/);
    const taken = said("Alles klar. Ich gebe Ihre Nachricht weiter.", "message.taken", "de");
    expect(summarize({ messages: [user("Bitte richten Sie aus, dass ich später komme")], events: [taken] }).summary).toMatch(/; left a message\.$/);
    // The words alone, without the id, are no fixed sentence: an agent's own reply that happens to use them says nothing.
    expect(summarize({ messages: [question, agent("I'm sorry, I don't know the answer to that.")] }).summary).toMatch(/; conversation ended\.$/);
  });

  it("is deterministic", () => {
    const input = { messages: [user("Can you check my order status?")], events: [], goalCompleted: false, outcome: "completed" };
    expect(summarizeConversation(input)).toEqual(summarizeConversation(structuredClone(input)));
  });
});
