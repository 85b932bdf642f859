// Live conversations: the copies of conversations a replica keeps between turns, and the lock that runs one turn of a
// conversation at a time on whichever replica it arrives.
//
// Storage is the source of truth; a copy here is a cache, checked before every turn. Each stored turn moves the
// conversation's version (conversations.turn_seq) up by one, and is stored only if the version is still the one the
// copy was read at (ConversationStore.saveTurn): a copy that another replica's turn made stale is reloaded, never
// written over.
//
// Turns of one conversation are serialized twice over. In this process a promise chain per conversation runs them in
// arrival order. Across replicas a turn holds a lease on the conversation row (turn_lease, a random token, and
// turn_lease_expires_at) from before it reads the version until its turn is stored. Why a lease and not a Postgres
// lock: a turn lasts as long as its model and skills take, seconds to minutes. A row lock or an advisory lock lives in
// a transaction or a session, so it would hold one pooled connection for that whole time: as many turns in flight as
// connections in the pool, and a pool drained by waiting turns could not serve the writes that would free them. A
// lease holds no connection, works the same on the embedded store, and a replica that dies mid-turn loses its lease
// when it lapses (it is renewed while the turn runs). Should a lease lapse all the same (a stalled process), the
// version check still keeps storage right: the late write is refused and its caller told to retry.
import { setTimeout as sleep } from "node:timers/promises";
import { Problem } from "../platform/http/problem.ts";
import { idTime, newId } from "../platform/ids.ts";
import type { Logger } from "../platform/log.ts";
import type { CompiledConfig, CompiledSkill } from "./compiled.ts";
import { Guardrails } from "./guardrails.ts";
import { PlaybookRunner } from "./playbooks/interpreter.ts";
import { Receipt } from "./receipt.ts";
import { HISTORY_TURNS, type ConversationState } from "./state.ts";
import type { ConversationRow, ConversationStore } from "./store.ts";

export interface Live {
  /** The conversation as of its last stored turn, plus what the turn running now changed. `row.turnSeq` is its version. */
  row: ConversationRow;
  /** False until the conversation's first turn is stored: until then no other replica can know of it. */
  stored: boolean;
  compiled: CompiledConfig;
  guardrails: Guardrails;
  receipt: Receipt;
  state: ConversationState;
  skills: CompiledSkill[];
  runners: Map<string, PlaybookRunner>;
  lastUsed: number;
  /**
   * The earliest millisecond the next message id may carry: after the last one stored, so a conversation resumed on a
   * replica whose clock is behind still lists its new messages last (transcripts are read in id order).
   */
  messageFloorMs: number;
}

export class ConversationNotFoundError extends Error {}
export class ConversationEndedError extends Error {}

/**
 * A turn that could not run or was not stored, and may be sent again: `conversation_busy` (another replica's turn of
 * this conversation did not finish in time) or `turn_not_saved` (storage refused the write, or another turn was stored
 * first). Nothing of the turn was stored; the next attempt starts from what was.
 */
export class ConversationUnavailableError extends Problem {
  constructor(code: "conversation_busy" | "turn_not_saved", detail: string) {
    super(503, code, detail, { headers: { "retry-after": String(RETRY_AFTER_S) } });
  }
}

export interface LiveDeps {
  store: ConversationStore;
  /** The compiled configuration a stored conversation runs (its version, or the current draft). */
  loadCompiled(row: ConversationRow): Promise<CompiledConfig>;
  clock: () => number;
  log: Logger;
  /** How long a turn waits for another replica's turn of the same conversation (default 30 s). */
  turnWaitMs?: number;
}

const LIVE_MAX = 5000;
const LIVE_IDLE_MS = 30 * 60_000;
/** How long a turn's lease lasts unless renewed; it is renewed every third of that while the turn runs. */
const LEASE_MS = 30_000;
const WAIT_MS = 30_000;
const RETRY_AFTER_S = 1;

export class LiveConversations {
  private cache = new Map<string, Live>();
  /** The last turn queued per conversation in this process: the next one runs after it. */
  private queues = new Map<string, Promise<unknown>>();

  constructor(private deps: LiveDeps) {}

  /** The copy held here, checked or not: for what a channel notes between turns and the keypad settings it reads. */
  cached(conversationId: string): Live | undefined {
    return this.cache.get(conversationId);
  }

  forget(conversationId: string) {
    this.cache.delete(conversationId);
  }

  /** A new conversation's copy, held until its first turn is stored. */
  open(row: ConversationRow, compiled: CompiledConfig): Live {
    return this.attach(row, compiled, 0, false);
  }

  /** Run a new conversation's first turn: nothing to check, but a copy whose write failed is dropped. */
  first<T>(live: Live, fn: () => Promise<T>): Promise<T> {
    return this.serialize(live.row.id, async () => {
      try {
        return await fn();
      } catch (error) {
        this.forget(live.row.id);
        throw error;
      }
    });
  }

  /**
   * Run one turn of a stored conversation with its checked copy: after every earlier turn queued here, holding the
   * conversation's turn lease, on a copy reloaded from storage if another replica stored a turn since it was read.
   * A turn that throws drops the copy, so the next one starts from storage. `signal`: the caller left; stop waiting.
   */
  run<T>(organizationId: string, conversationId: string, fn: (live: Live) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.serialize(conversationId, async () => {
      const cached = this.cache.get(conversationId);
      const mine = cached?.row.organizationId === organizationId ? cached : undefined;
      // Opened here and not stored yet (an OpenAI-compatible conversation opened silently): no one else knows its id.
      if (mine && !mine.stored) return this.checked(conversationId, () => fn(mine));
      const token = newId("turn");
      const { turnSeq } = await this.claim(organizationId, conversationId, token, signal);
      let held = true;
      const renewal = setInterval(() => {
        this.deps.store.renewTurn(conversationId, token, LEASE_MS).then(
          (kept) => kept || this.deps.log.warn("a turn lost its conversation's lease; its write will be refused if another turn was stored meanwhile", { conversationId }),
          (error) => this.deps.log.warn("could not renew a turn's lease", { conversationId, error }),
        );
      }, LEASE_MS / 3);
      try {
        let live = mine;
        if (!live || live.row.turnSeq !== turnSeq) live = await this.load(organizationId, conversationId);
        live.lastUsed = this.deps.clock();
        const copy = live;
        return await this.checked(conversationId, async () => {
          const result = await fn(copy);
          // A stored turn gave the lease back in the same write.
          held = copy.row.turnSeq === turnSeq;
          return result;
        });
      } finally {
        clearInterval(renewal);
        if (held) await this.deps.store.releaseTurn(conversationId, token).catch((error) => this.deps.log.warn("could not give back a turn's lease; it lapses by itself", { conversationId, error }));
      }
    });
  }

  /**
   * A conversation's row as this replica should show it: the copy held here while it is current (it carries what
   * only memory holds, e.g. values a PII-redacting agent stored redacted), else the stored row.
   */
  async describe(organizationId: string, conversationId: string): Promise<ConversationRow | null> {
    const cached = this.cache.get(conversationId);
    const mine = cached?.row.organizationId === organizationId ? cached : undefined;
    if (mine && !mine.stored) return mine.row;
    const stored = await this.deps.store.load(organizationId, conversationId);
    if (!stored) return null;
    return mine && mine.row.turnSeq === stored.turnSeq ? mine.row : stored;
  }

  private async checked<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.forget(conversationId);
      throw error;
    }
  }

  /** Take the conversation's turn lease, waiting while another replica's turn holds it. */
  private async claim(organizationId: string, conversationId: string, token: string, signal?: AbortSignal): Promise<{ turnSeq: number }> {
    const deadline = performance.now() + (this.deps.turnWaitMs ?? WAIT_MS);
    for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
      const claimed = await this.deps.store.claimTurn(organizationId, conversationId, token, LEASE_MS);
      if (claimed === "missing") throw new ConversationNotFoundError(conversationId);
      if (claimed !== "held") return claimed;
      if (performance.now() + pause > deadline || signal?.aborted) {
        throw new ConversationUnavailableError("conversation_busy", `another turn of conversation ${conversationId} is still running; retry in ${RETRY_AFTER_S} s`);
      }
      await sleep(pause);
    }
  }

  /**
   * A conversation's copy from storage. With redactPii, storage holds the redacted state only: a conversation
   * reloaded (on another replica, after a restart, or after its copy here went stale) goes on from that, without the
   * raw values its earlier turns heard.
   */
  private async load(organizationId: string, conversationId: string): Promise<Live> {
    this.forget(conversationId);
    const { store } = this.deps;
    const row = await store.load(organizationId, conversationId);
    if (!row) throw new ConversationNotFoundError(conversationId);
    const [compiled, events, lastMessageId] = await Promise.all([this.deps.loadCompiled(row), store.events(row.id), store.lastMessageId(row.id)]);
    const state = row.state as unknown as ConversationState;
    if (!state.historyInOrder) {
      // Stored before each caller message was remembered ahead of its answer: the transcript has the true order.
      state.history = (await store.messages(row.id)).slice(-HISTORY_TURNS).map((m) => ({ role: m.role, content: m.content }));
      state.historyInOrder = true;
    }
    const live = this.attach(row, compiled, events.length, true);
    if (lastMessageId) live.messageFloorMs = idTime(lastMessageId) + 1;
    return live;
  }

  private attach(row: ConversationRow, compiled: CompiledConfig, nextSeq: number, stored: boolean): Live {
    if (this.cache.size >= LIVE_MAX) this.evict();
    const channel = row.channel as "voice" | "chat";
    const live: Live = {
      row,
      stored,
      compiled,
      guardrails: new Guardrails(compiled, this.deps.clock),
      receipt: new Receipt(row.id, channel, row.startedAt.getTime(), nextSeq, this.deps.clock),
      state: row.state as unknown as ConversationState,
      skills: compiled.skills.filter((s) => !s.channels.length || s.channels.includes(channel)),
      runners: new Map(compiled.playbooks.map((p) => [p.id, new PlaybookRunner(p, this.deps.log)])),
      lastUsed: this.deps.clock(),
      messageFloorMs: 0,
    };
    this.cache.set(row.id, live);
    return live;
  }

  private evict() {
    const cutoff = this.deps.clock() - LIVE_IDLE_MS;
    for (const [id, l] of this.cache) if (l.lastUsed < cutoff) this.cache.delete(id);
    if (this.cache.size >= LIVE_MAX) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Turns of one conversation run one at a time here, in arrival order. */
  private serialize<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(conversationId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    this.queues.set(conversationId, tail);
    void tail.then(() => {
      if (this.queues.get(conversationId) === tail) this.queues.delete(conversationId);
    });
    return run;
  }
}
