// Handoff: where a caller asking for a person is sent (a given destination, a handoff rule, business hours'
// emergency and after-hours numbers), the summary a person receives, and what the caller is told.
import type { Live } from "./live-conversations.ts";
import { terms } from "../platform/tokens.ts";
import { phrase, type Speech } from "./phrases/index.ts";
import { overlapScore } from "./text.ts";
import type { TransferRoute, Turn, TurnSteps } from "./turn.ts";

const EMERGENCY = /\b(emergency|urgent|flood(ing)?|fire|gas leak|burst pipe|no heat|smell gas)\b/i;

/**
 * Hand the caller to a person. The destination is the one given (a transfer skill's or a playbook step's), else the
 * handoff rule named by `ruleLabel`, else the rule whose label and `when` best match what was said, else the
 * agent's transferDestination. `warm` left out follows handoffConfig.warm. `announcement` (a playbook step's message, a
 * skill's error message) is said once a destination is found: on a call it is the one hold line, in place of the
 * default "let me connect you" (two lines back to back kept the caller listening 5–6 s before the dial started).
 */
export async function handOff(steps: TurnSteps, turn: Turn, reason: string, route: TransferRoute = {}, announcement?: Speech) {
  const { live } = turn;
  const agent = live.compiled.agent;
  const hours = live.guardrails.hours();
  const afterHours = live.guardrails.afterHours();
  let target = route.destination ?? null;
  let ruleLabel: string | null = null;
  const recentUser = turn.messages.filter((m) => m.role === "user").map((m) => m.content).join(" ");

  if (hours.configured && !hours.open) {
    const emergency = EMERGENCY.test(`${reason} ${recentUser}`) && afterHours.emergencyNumber;
    if (emergency) {
      target = afterHours.emergencyNumber!;
      ruleLabel = "emergency";
    } else if (afterHours.allowHumanTransfer && afterHours.number) {
      target = afterHours.number;
      ruleLabel = "after hours";
    } else {
      steps.guardrailEvents(live, [{ policyType: "business_hours", decision: "blocked", reason: `transfer outside business hours (${hours.localTime})` }]);
      live.state.pending = { kind: "take_message", step: "message" };
      return steps.say(turn, hours.nextOpeningPhrase ? phrase("handoff.closed_until", { opening: hours.nextOpeningPhrase }) : phrase("handoff.closed"));
    }
  }
  if (!target && route.ruleLabel) {
    const wanted = route.ruleLabel.trim().toLowerCase();
    const rule = (agent.handoffConfig.transferRules ?? []).find((r) => r.label.trim().toLowerCase() === wanted);
    if (rule) {
      target = rule.destination;
      ruleLabel = rule.label;
    } else {
      // The rule was renamed or removed after the playbook was saved: route as for any other request.
      live.receipt.add("error", { code: "transfer_rule_not_found", message: `no handoff transfer rule is labelled "${route.ruleLabel}"` });
    }
  }
  if (!target) {
    const words = terms(`${reason} ${recentUser}`);
    let best = 0;
    for (const rule of agent.handoffConfig.transferRules ?? []) {
      const score = overlapScore(words, new Set(terms(`${rule.label} ${rule.when}`)));
      if (score > best && score >= 0.2) {
        best = score;
        target = rule.destination;
        ruleLabel = rule.label;
      }
    }
    target ??= agent.handoffConfig.transferDestination ?? null;
  }
  if (!target) {
    live.state.pending = { kind: "take_message", step: "message" };
    return steps.say(turn, phrase("handoff.unavailable"));
  }
  const warm = route.warm ?? agent.handoffConfig.warm ?? false;
  const summary = handoffSummary(live, reason);
  live.receipt.add("handoff", { destination: target, warm, reason, ruleLabel, summary, channel: live.row.channel });
  if (live.row.channel === "voice") {
    // The voice channel carries the transfer out and reports back: end(…, "transferred") once the caller is
    // connected, or a transfer_failed turn, so a failed transfer never strands the caller.
    steps.say(turn, announcement ?? agent.handoffConfig.holdMessage ?? phrase("handoff.connecting"));
    live.state.transferredTo = target;
    turn.result.transfer = { destination: target, warm, summary, reason };
    turn.stop = true;
  } else {
    live.state.transferredTo = target;
    steps.say(turn, announcement ? [announcement, phrase("handoff.referral", { destination: target })].flat() : phrase("handoff.referral", { destination: target }));
  }
}

function handoffSummary(live: Live, reason: string): string {
  const v = live.state.variables;
  const who = [v.caller_name, v.caller_number].filter(Boolean).join(", ") || "the caller";
  const collected = Object.entries(v)
    .filter(([k, val]) => !["caller_name", "caller_number", "verified", "caller_info"].includes(k) && val !== null && typeof val !== "object")
    .map(([k, val]) => `${k.replace(/_/g, " ")}: ${val}`);
  return `Call from ${who} about: ${reason}.${collected.length ? ` Details: ${collected.join("; ")}.` : ""}`;
}
