/*
 * The Flowyte chat widget: <flowyte-chat>, a launcher button and a chat panel in a shadow root, so the host page's
 * styles and the widget's never mix. loader.js mounts it and calls start() with the bootstrap answer.
 * Protocol (docs/widget.md): POST …/sessions on first open → {conversationId, visitorToken, transport}. Messages go
 * over the session's WebSocket (transport.kind "realtime": message → delta*, message) when it opens; when it cannot
 * open or closes abnormally, over HTTP instead: POST …/messages with stream:true answers SSE (delta*, message, done),
 * read from fetch() because EventSource cannot POST. Each message carries a clientMessageId, so sending it again
 * after a dropped connection, over either transport, never runs its turn twice.
 */
(function () {
  "use strict";
  if (window.customElements.get("flowyte-chat")) return;

  const TEXT = {
    refused: "This chat isn't available on this site.",
    unavailable: "Chat is unavailable right now. Please try again later.",
    offline: "This assistant isn't taking chats right now.",
    identity: "Please sign in to chat with us.",
    botCheck: "We couldn't confirm you're not a robot. Please reload the page and try again.",
    busy: "Too many conversations from here. Please try again later.",
    notDelivered: "Not delivered.",
    retry: "Retry",
    ended: "This conversation has ended.",
    restart: "Start a new conversation",
    send: "Send",
    close: "Close chat",
    message: "Message",
    you: "You",
    poweredBy: "Powered by Flowyte",
  };
  const ICONS = {
    chat: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>',
    close: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18"/></svg>',
    send: '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 11l18-8-8 18-2-8-8-2z"/></svg>',
  };
  const RETRIES = 3;
  /** Pauses before each attempt to recover a reply whose stream broke; after the last one the visitor gets Retry. */
  const RECOVERY_DELAYS_MS = [0, 500, 1000, 2000];
  const STORAGE_PREFIX = "flowyte-widget:";
  /** A socket that has not said "ready" by then counts as blocked (a proxy or firewall holding the upgrade). */
  const SOCKET_OPEN_TIMEOUT_MS = 4000;

  /** A tiny element builder: attributes, then children (strings become text, never HTML). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }
  function icon(name) {
    const span = h("span", { class: "fw-icon" });
    span.innerHTML = ICONS[name];
    return span;
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** White or near-black text, whichever contrasts more with the theme colour (WCAG relative luminance). */
  function readableOn(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return 1.05 / (l + 0.05) >= (l + 0.05) / 0.0556 ? "#ffffff" : "#111111";
  }

  /** Server-sent events from a fetch() response: calls onEvent(type, data) for each frame. */
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        const data = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith(":")) continue; // heartbeat
          const colon = line.indexOf(":");
          const field = colon === -1 ? line : line.slice(0, colon);
          const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") type = text;
          else if (field === "data") data.push(text);
        }
        if (data.length) onEvent(type, JSON.parse(data.join("\n")));
      }
      if (done) return;
    }
  }

  /** The id a message keeps on every attempt to deliver it, so the server runs its turn once (clientMessageId). */
  function newMessageId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /**
   * The visitor's message and the agent's replies to it in a transcript, if its turn has finished: the first user
   * message with this content after the last message the widget showed before sending (`since`), and the assistant
   * messages that follow it. The server stores a turn's messages together, so a message there is a finished turn.
   */
  function answeredIn(messages, content, since) {
    const start = since ? messages.findIndex((m) => m.id === since) + 1 : 0;
    if (since && start === 0) return null;
    const mine = messages.findIndex((m, i) => i >= start && m.role === "user" && m.content === content);
    if (mine === -1) return null;
    const rest = messages.slice(mine + 1);
    const next = rest.findIndex((m) => m.role === "user");
    return { userMessage: messages[mine], messages: next === -1 ? rest : rest.slice(0, next) };
  }

  async function problemOf(response) {
    try {
      return await response.json();
    } catch {
      return {};
    }
  }

  /** What the visitor reads when a session cannot start. */
  function sessionRefusal(status, code) {
    if (status === 409) return TEXT.offline;
    if (code === "identity_required" || code === "identity_invalid") return TEXT.identity;
    if (code === "bot_check_required" || code === "bot_check_failed") return TEXT.botCheck;
    if (status === 429) return TEXT.busy;
    if (status === 401 || status === 403) return TEXT.refused;
    return TEXT.unavailable;
  }

  async function hookValue(hook) {
    if (typeof hook === "function") return (await hook()) || undefined;
    return typeof hook === "string" && hook ? hook : undefined;
  }

  class FlowyteChat extends HTMLElement {
    /** `bootstrap` is the loader's answer: {status, body} (status 0 when the server could not be reached). */
    start({ base, key, bootstrap, hooks }) {
      this.base = base;
      this.key = key;
      this.hooks = hooks || {};
      this.session = null;
      this.opening = null;
      /** The session's socket once asked for: a promise of {ws, pending}; null until then or after it closed. */
      this.channel = null;
      /** Set once a socket could not open, or was lost with a message unanswered: this page uses HTTP from then on. */
      this.socketFailed = false;
      /** The last message on screen that the server stored: where to look for a reply after a broken stream. */
      this.lastMessageId = null;
      this.busy = false;
      this.ended = false;
      this.root = this.attachShadow({ mode: "open" });
      // Stay invisible until the stylesheet applies, so the page never shows an unstyled flash.
      this.style.visibility = "hidden";
      const css = h("link", { rel: "stylesheet", href: `${base}/widget/chat.css` });
      css.onload = css.onerror = () => this.style.removeProperty("visibility");
      this.root.append(css);
      if (bootstrap.status !== 200) return this.refuse(bootstrap);
      this.config = bootstrap.body.data;
      this.render();
    }

    refuse({ status, body, error }) {
      const refused = status === 401 || status === 403;
      const reason = (body && body.detail) || (error && error.message) || `HTTP ${status}`;
      console.warn(`[Flowyte] chat widget ${refused ? "refused" : "unavailable"}: ${reason}${body && body.code ? ` (${body.code})` : ""}`);
      this.root.append(h("div", { class: "fw", "data-position": "bottom-right" }, h("p", { class: "fw-notice", role: "status" }, refused ? TEXT.refused : TEXT.unavailable)));
    }

    render() {
      const { theme, copy, behavior } = this.config.widget;
      const wrap = h("div", { class: "fw", "data-position": theme.position, "data-mode": theme.mode });
      wrap.style.setProperty("--fw-primary", theme.primaryColor);
      wrap.style.setProperty("--fw-on-primary", readableOn(theme.primaryColor));

      this.input = h("textarea", { id: "fw-input", class: "fw-input", rows: 1, maxlength: 4000, placeholder: copy.placeholder, autocomplete: "off" });
      this.sendButton = h("button", { type: "submit", class: "fw-send", "aria-label": TEXT.send }, icon("send"));
      this.form = h("form", { class: "fw-composer" }, h("label", { class: "fw-sr", for: "fw-input" }, TEXT.message), this.input, this.sendButton);
      this.messages = h("ol", { class: "fw-messages" });
      this.status = h("div", { class: "fw-status" });
      this.log = h(
        "div",
        { class: "fw-log", tabindex: 0, "aria-label": `Conversation with ${this.config.agentName}` },
        copy.greeting ? h("p", { class: "fw-intro" }, copy.greeting) : null,
        this.messages,
        this.status,
      );
      const closeButton = h("button", { type: "button", class: "fw-close", "aria-label": TEXT.close }, icon("close"));
      this.panel = h(
        "section",
        { id: "fw-panel", class: "fw-panel", role: "dialog", "aria-labelledby": "fw-title", "aria-describedby": copy.subtitle ? "fw-subtitle" : null, hidden: true },
        h(
          "header",
          { class: "fw-header" },
          theme.avatarUrl ? h("img", { class: "fw-avatar", src: theme.avatarUrl, alt: "" }) : null,
          h("div", { class: "fw-titles" }, h("h2", { id: "fw-title" }, copy.title), copy.subtitle ? h("p", { id: "fw-subtitle" }, copy.subtitle) : null),
          closeButton,
        ),
        this.log,
        this.form,
        behavior.showBranding ? h("p", { class: "fw-branding" }, TEXT.poweredBy) : null,
      );
      this.launcher = h(
        "button",
        { type: "button", class: "fw-launcher", "aria-label": copy.launcherLabel, "aria-expanded": "false", "aria-controls": "fw-panel", "aria-haspopup": "dialog" },
        theme.launcherIcon ? h("img", { src: theme.launcherIcon, alt: "" }) : icon("chat"),
      );
      // Finished replies are announced here; the streaming text itself is not, so screen readers hear each reply once.
      this.live = h("div", { class: "fw-sr", "aria-live": "polite" });
      wrap.append(this.panel, this.launcher, this.live);
      this.root.append(wrap);

      this.launcher.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
      closeButton.addEventListener("click", () => this.close());
      this.panel.addEventListener("keydown", (event) => {
        if (event.key === "Escape") {
          event.stopPropagation();
          this.close();
        }
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.form.requestSubmit();
        }
      });
      this.input.addEventListener("input", () => this.fitInput());
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.send(this.input.value);
      });
      // Opening by itself must not pull the visitor's focus away from the page.
      if (behavior.openOnLoad) setTimeout(() => this.open({ focus: false }), behavior.autoOpenDelayMs);
    }

    open({ focus = true } = {}) {
      if (!this.panel.hidden) return;
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      if (focus) this.input.focus();
      if (!this.ended) this.ensureSession().catch(() => {});
    }

    close() {
      if (this.panel.hidden) return;
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.focus();
    }

    fitInput() {
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight, 120)}px`;
    }

    // ------------------------------------------------------------------ talking to the server

    /** fetch() against the widget API, retried with backoff when the network or the server fails. */
    async call(method, path, body) {
      const init = { method, credentials: "omit", headers: { authorization: `Bearer ${this.key}` } };
      if (body) {
        init.headers["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await fetch(`${this.base}/api/v1/chat/widget${path}`, init);
          if (response.status < 500 || attempt >= RETRIES) return response;
        } catch (error) {
          if (attempt >= RETRIES) throw error;
        }
        await sleep(500 * 2 ** attempt);
      }
    }

    ensureSession() {
      if (!this.opening) {
        this.opening = this.openSession().catch((error) => {
          this.opening = null;
          throw error;
        });
      }
      return this.opening;
    }

    async openSession() {
      const stored = this.stored();
      if (stored) {
        const token = encodeURIComponent(stored.visitorToken);
        const response = await this.call("GET", `/sessions/${encodeURIComponent(stored.conversationId)}/messages?visitorToken=${token}`);
        if (response.ok) {
          const transcript = (await response.json()).data;
          this.session = stored;
          for (const m of transcript.messages) this.addMessage(m.role, m.content);
          this.lastMessageId = transcript.messages.length ? transcript.messages[transcript.messages.length - 1].id : null;
          if (transcript.status === "ended") this.showEnded();
          return;
        }
        this.forget();
      }
      this.setStatus(h("p", { class: "fw-typing", "aria-hidden": "true" }, h("span"), h("span"), h("span")));
      const body = {};
      const identityToken = await hookValue(this.hooks.getIdentityToken);
      const turnstileToken = await hookValue(this.hooks.getTurnstileToken);
      if (identityToken) body.identityToken = identityToken;
      if (turnstileToken) body.turnstileToken = turnstileToken;
      let response;
      try {
        response = await this.call("POST", "/sessions", body);
      } catch (error) {
        this.setStatus(h("p", { role: "status" }, TEXT.unavailable));
        throw error;
      }
      if (!response.ok) {
        const problem = await problemOf(response);
        console.warn(`[Flowyte] could not start a chat: ${problem.detail || `HTTP ${response.status}`}${problem.code ? ` (${problem.code})` : ""}`);
        const text = sessionRefusal(response.status, problem.code);
        this.setStatus(h("p", { role: "status" }, text));
        throw new Error(problem.code || `HTTP ${response.status}`);
      }
      const session = (await response.json()).data;
      this.setStatus(null);
      const { transport } = session;
      this.session = { conversationId: session.conversationId, visitorToken: session.visitorToken, socketUrl: transport && transport.kind === "realtime" ? transport.url : null };
      this.remember(this.session);
      for (const m of session.messages) this.addMessage("assistant", m.content, { announce: true });
      this.lastMessageId = session.messages.length ? session.messages[session.messages.length - 1].id : null;
    }

    async send(text) {
      const content = text.trim();
      if (!content || this.busy || this.input.disabled) return;
      this.input.value = "";
      this.fitInput();
      await this.deliver(this.addMessage("user", content), content, newMessageId());
    }

    /**
     * One message to the agent, its reply streamed into a bubble. When the stream breaks, the widget recovers by
     * itself (see recover); only when that fails too does the message get a Retry button, which sends it again
     * under the same clientMessageId.
     */
    async deliver(item, content, clientMessageId) {
      this.busy = true;
      this.sendButton.disabled = true;
      const reply = this.addMessage("assistant", "", { pending: true });
      const since = this.lastMessageId;
      let outcome;
      try {
        await this.ensureSession();
        try {
          outcome = await this.exchange(reply, content, clientMessageId);
        } catch (error) {
          console.warn(`[Flowyte] the reply was cut off (${error.message}); recovering`);
          outcome = await this.recover(reply, content, clientMessageId, since);
        }
      } catch (error) {
        console.warn(`[Flowyte] message not delivered: ${error.message}`);
        outcome = { kind: "failed" };
      }
      reply.remove();
      this.busy = false;
      if (outcome.kind === "answered") {
        const { userMessage, messages, ended } = outcome.reply;
        for (const m of messages) this.addMessage("assistant", m.content, { announce: true });
        this.lastMessageId = messages.length ? messages[messages.length - 1].id : userMessage ? userMessage.id : this.lastMessageId;
        if (ended) this.showEnded();
      } else if (outcome.kind === "gone") {
        // The conversation is over (ended, or its visitor token expired): offer a new one.
        this.showEnded();
      } else {
        this.markFailed(item, content, clientMessageId);
      }
      this.sendButton.disabled = this.ended;
    }

    /**
     * Send the message and read the reply into `reply`: over the session's socket when it has one that opens, else
     * (or when the socket is lost before the answer) over HTTP under the same clientMessageId. Answers
     * {kind: "answered", reply}, {kind: "gone"} or {kind: "failed"} for a refusal; throws when the outcome is
     * unknown (the network failed, the stream broke, or the turn is still running elsewhere), which is what
     * recovery is for.
     */
    async exchange(reply, content, clientMessageId) {
      const channel = this.socket();
      if (channel) {
        try {
          return await this.exchangeOverSocket(await channel, reply, content, clientMessageId);
        } catch (error) {
          if (!error.socketLost) throw error;
          console.warn(`[Flowyte] the chat socket is unavailable (${error.message}); sending over HTTP`);
          reply.querySelector(".fw-bubble").replaceChildren();
          reply.classList.add("fw-msg--pending");
        }
      }
      return this.exchangeOverHttp(reply, content, clientMessageId);
    }

    /** One message over the socket: its deltas into `reply`, then its message or error frame. */
    async exchangeOverSocket(channel, reply, content, clientMessageId) {
      const frame = await new Promise((resolve, reject) => {
        channel.pending.set(clientMessageId, { delta: (text) => this.appendText(reply, text), resolve, reject });
        channel.ws.send(JSON.stringify({ type: "message", content, clientMessageId }));
      });
      if (frame.type === "message") return { kind: "answered", reply: frame };
      // An error frame is a problem, as the HTTP route answers it.
      if (frame.code === "idempotency_in_progress" || frame.status >= 500) throw new Error(frame.detail || "the reply is still being written");
      console.warn(`[Flowyte] message not delivered: ${frame.detail}${frame.code ? ` (${frame.code})` : ""}`);
      return frame.status === 409 || frame.status === 401 || frame.status === 404 ? { kind: "gone" } : { kind: "failed" };
    }

    /**
     * The session's socket, opened on first use (a promise of {ws, pending}); null when the session offers none or a
     * socket has failed on this page. It opens the path of transport.url on the address the widget was loaded from,
     * which the page can reach and its Content Security Policy already allows.
     */
    socket() {
      if (!this.session || !this.session.socketUrl || this.socketFailed) return null;
      if (!this.channel) this.channel = this.openSocket(this.session);
      return this.channel;
    }

    openSocket(session) {
      const url = new URL(new URL(session.socketUrl).pathname, this.base);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      url.searchParams.set("key", this.key);
      url.searchParams.set("token", session.visitorToken);
      const lost = (message) => Object.assign(new Error(message), { socketLost: true });
      const opening = new Promise((resolve, reject) => {
        const ws = new WebSocket(url.href);
        /** Messages sent and not yet answered, by clientMessageId. */
        const pending = new Map();
        let ready = false;
        const timer = setTimeout(() => ws.close(), SOCKET_OPEN_TIMEOUT_MS);
        ws.onmessage = (event) => {
          let frame;
          try {
            frame = JSON.parse(event.data);
          } catch {
            return;
          }
          if (frame.type === "ready") {
            ready = true;
            clearTimeout(timer);
            resolve({ ws, pending });
            return;
          }
          const waiting = frame.clientMessageId ? pending.get(frame.clientMessageId) : null;
          if (!waiting) return;
          if (frame.type === "delta") waiting.delta(frame.text);
          else if (frame.type === "message" || frame.type === "error") {
            pending.delete(frame.clientMessageId);
            waiting.resolve(frame);
          }
        };
        // Every failure ends in close (an error event comes first). A socket that never got ready, or that closed
        // abnormally with messages unanswered, hands them to HTTP, which this page then keeps using; one closed
        // while idle (1000 after the conversation's end, or a proxy's idle cut) is opened again for the next message.
        ws.onclose = (event) => {
          clearTimeout(timer);
          if (this.channel === opening) this.channel = null;
          if (!ready || (event.code !== 1000 && pending.size)) this.socketFailed = true;
          if (!ready) reject(lost(`it did not open (${event.code})`));
          for (const waiting of pending.values()) waiting.reject(lost(`it closed (${event.code}) before the reply`));
          pending.clear();
        };
      });
      opening.catch(() => {}); // the exchange that asked for it handles the failure
      return opening;
    }

    closeSocket() {
      const channel = this.channel;
      this.channel = null;
      if (channel) channel.then(({ ws }) => ws.close(1000), () => {});
    }

    /** POST the message with stream:true and read the SSE reply into `reply` (outcomes as for exchange). */
    async exchangeOverHttp(reply, content, clientMessageId) {
      const { conversationId, visitorToken } = this.session;
      const response = await this.call("POST", `/sessions/${encodeURIComponent(conversationId)}/messages`, { content, stream: true, visitorToken, clientMessageId });
      if (!response.ok) {
        const problem = await problemOf(response);
        if (problem.code === "idempotency_in_progress") throw new Error("the reply is still being written");
        console.warn(`[Flowyte] message not delivered: ${problem.detail || `HTTP ${response.status}`}${problem.code ? ` (${problem.code})` : ""}`);
        return response.status === 409 || response.status === 401 || response.status === 404 ? { kind: "gone" } : { kind: "failed" };
      }
      let final = null;
      await readEvents(response, (type, data) => {
        if (type === "delta") this.appendText(reply, data.text);
        else if (type === "message") final = data;
        else if (type === "error") throw new Error(data.detail || "the reply failed");
      });
      if (!final) throw new Error("the connection closed before the reply was complete");
      return { kind: "answered", reply: final };
    }

    /**
     * After a broken stream: read the transcript, and if the turn finished there, that is the reply (nothing is sent
     * again). Otherwise the message never arrived or its turn is still running, and sending it again under the same
     * clientMessageId is safe: the server runs a message it never got, and for one it did waits for or replays that
     * turn. A few attempts, spaced out, in case the network is still coming back.
     */
    async recover(reply, content, clientMessageId, since) {
      const { conversationId, visitorToken } = this.session;
      for (const delay of RECOVERY_DELAYS_MS) {
        await sleep(delay);
        try {
          const read = await this.call("GET", `/sessions/${encodeURIComponent(conversationId)}/messages?visitorToken=${encodeURIComponent(visitorToken)}`);
          if (read.status === 401 || read.status === 404) return { kind: "gone" };
          if (read.ok) {
            const transcript = (await read.json()).data;
            const answered = answeredIn(transcript.messages, content, since);
            if (answered) return { kind: "answered", reply: { ...answered, ended: transcript.status === "ended" } };
            if (transcript.status === "ended") return { kind: "gone" };
          }
          reply.querySelector(".fw-bubble").replaceChildren();
          reply.classList.add("fw-msg--pending");
          return await this.exchange(reply, content, clientMessageId);
        } catch (error) {
          console.warn(`[Flowyte] still recovering the reply: ${error.message}`);
        }
      }
      return { kind: "failed" };
    }

    // ------------------------------------------------------------------ the conversation on screen

    addMessage(role, content, { pending = false, announce = false } = {}) {
      const bubble = h("div", { class: "fw-bubble" }, content);
      const item = h("li", { class: `fw-msg fw-msg--${role}` }, h("span", { class: "fw-sr" }, `${role === "user" ? TEXT.you : this.config.agentName}: `), bubble);
      if (pending) item.classList.add("fw-msg--pending");
      this.messages.append(item);
      if (announce) this.announce(`${this.config.agentName}: ${content}`);
      this.scrollToEnd();
      return item;
    }

    appendText(item, text) {
      item.classList.remove("fw-msg--pending");
      item.querySelector(".fw-bubble").append(text);
      this.scrollToEnd();
    }

    markFailed(item, content, clientMessageId) {
      item.classList.add("fw-msg--failed");
      const retry = h("button", { type: "button", class: "fw-retry" }, TEXT.retry);
      const note = h("p", { class: "fw-failed" }, `${TEXT.notDelivered} `, retry);
      retry.addEventListener("click", () => {
        if (this.busy) return;
        note.remove();
        item.classList.remove("fw-msg--failed");
        this.input.focus();
        this.deliver(item, content, clientMessageId);
      });
      item.append(note);
      this.announce(`${TEXT.notDelivered} ${TEXT.retry}?`);
      this.scrollToEnd();
    }

    showEnded() {
      // Disabling the message box would drop the visitor's focus on the page: hand it to the restart button instead.
      const hadFocus = this.panel.contains(this.root.activeElement);
      this.ended = true;
      this.forget();
      this.closeSocket();
      this.session = null;
      this.opening = null;
      this.lastMessageId = null;
      this.input.disabled = true;
      this.sendButton.disabled = true;
      const restart = h("button", { type: "button", class: "fw-restart" }, TEXT.restart);
      restart.addEventListener("click", () => {
        this.ended = false;
        this.messages.replaceChildren();
        this.setStatus(null);
        this.input.disabled = false;
        this.sendButton.disabled = false;
        this.input.focus();
        this.ensureSession().catch(() => {});
      });
      this.setStatus(h("p", { role: "status" }, `${TEXT.ended} `), restart);
      if (hadFocus) restart.focus();
    }

    setStatus(...nodes) {
      this.status.replaceChildren(...nodes.filter(Boolean));
      this.scrollToEnd();
    }

    announce(text) {
      this.live.append(h("p", {}, text));
      while (this.live.childElementCount > 3) this.live.firstElementChild.remove();
    }

    scrollToEnd() {
      this.log.scrollTop = this.log.scrollHeight;
    }

    // ------------------------------------------------------------------ persistence (sessionStorage, per tab)

    storageKey() {
      return STORAGE_PREFIX + this.config.agentId;
    }

    stored() {
      if (!this.config.widget.behavior.persistConversation) return null;
      try {
        const value = JSON.parse(sessionStorage.getItem(this.storageKey()) || "null");
        return value && value.conversationId && value.visitorToken ? value : null;
      } catch {
        return null;
      }
    }

    remember(session) {
      if (!this.config.widget.behavior.persistConversation) return;
      try {
        sessionStorage.setItem(this.storageKey(), JSON.stringify(session));
      } catch {
        // Storage can be off (privacy modes, sandboxed frames): the conversation then lasts as long as the page.
      }
    }

    forget() {
      try {
        sessionStorage.removeItem(this.storageKey());
      } catch {}
    }
  }

  window.customElements.define("flowyte-chat", FlowyteChat);
})();
