// Keyed digits gathered into one input: sent at the playbook step's submit key (# by default), once it has the
// digits it expects, or after DIGIT_TIMEOUT_MS without another key.
import type { Clock, Timer } from "../clock.ts";

const DIGIT_TIMEOUT_MS = 3000;

/** What the playbook step waiting for digits asks of them, if one is waiting. */
export interface DigitRequest {
  submitKey?: string;
  expectedDigits?: number;
}

export class DigitCollector {
  private digits = "";
  private timer: Timer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly submit: (digits: string) => void,
  ) {}

  press(digit: string, waiting: DigitRequest | null) {
    const submitKey = waiting?.submitKey ?? "#";
    this.clock.clearTimeout(this.timer);
    if (digit === submitKey) return this.flush();
    this.digits += digit;
    if (waiting?.expectedDigits && this.digits.length >= waiting.expectedDigits) return this.flush();
    this.timer = this.clock.setTimeout(() => this.flush(), DIGIT_TIMEOUT_MS);
  }

  /** The call ended: digits not yet sent are dropped. */
  close() {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private flush() {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    const digits = this.digits;
    this.digits = "";
    if (digits) this.submit(digits);
  }
}
