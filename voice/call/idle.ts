// Idle reminders: the first comes idleReminderDelaySeconds into a silence, each next one
// idleReminderIntervalSeconds after the last was said. The runtime decides what each silence turn says: a reminder
// while fewer than maxIdleReminders were given, then its onNoResponseAction (end, transfer, or nothing more); after
// that turn only the caller moves the call on.
import type { AgentSettings } from "../../src/runtime/compiled.ts";
import type { Clock, Timer } from "../clock.ts";

export class IdleTimer {
  private timer: Timer | null = null;
  /** Silence turns sent since the caller last took a turn. */
  private turns = 0;

  constructor(
    private readonly clock: Clock,
    private readonly callControl: AgentSettings["callControl"],
    /** Something else is under way (a turn, a reply, the caller mid-turn): whatever finishes it arms the timer again. */
    private readonly busy: () => boolean,
    /** Sends the silence turn. */
    private readonly silence: () => void,
  ) {}

  /** The caller took a turn (spoke or keyed digits): the next silence starts the reminders afresh. */
  callerTookTurn() {
    this.turns = 0;
  }

  /** A silence starts now. */
  arm() {
    this.cancel();
    const cc = this.callControl;
    if (this.turns > (cc.maxIdleReminders ?? 2)) return;
    const delay = cc.idleReminderDelaySeconds ?? 8;
    const wait = this.turns === 0 ? delay : (cc.idleReminderIntervalSeconds ?? delay);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.busy()) return;
      this.turns++;
      this.silence();
    }, wait * 1000);
  }

  cancel() {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
