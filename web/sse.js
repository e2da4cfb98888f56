// Server-sent events over fetch(). EventSource cannot send an Authorization header (and a
// token in the URL would end up in logs and history), so the page reads /chat/stream
// with fetch() and parses the event-stream format itself, as the HTML standard defines
// it: lines end with \n, \r\n or \r; "field: value"; a blank line dispatches; ':' is a
// comment; "id" persists across events.

export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.data = [];
    this.event = '';
    this.lastId = null;
    this.skipLF = false;
  }

  // Feeds decoded text; calls onEvent({id, event, data}) for each complete event.
  push(text) {
    if (text === '') return;
    // A \r that ended the previous chunk ended its line; a \n right after it is the
    // second half of that \r\n, not another (blank) line.
    this.buffer += this.skipLF && text[0] === '\n' ? text.slice(1) : text;
    this.skipLF = false;
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) return;
      let next = end + 1;
      if (this.buffer[end] === '\r') {
        if (end + 1 === this.buffer.length) this.skipLF = true;
        else if (this.buffer[end + 1] === '\n') next = end + 2;
      }
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(next);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) {
        this.onEvent({ id: this.lastId, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    // "retry" and unknown fields: the reconnect policy is this page's own (below).
  }
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Follows a stream for as long as the page wants it, through disconnects and server
// restarts. open(signal) -> a fetch Response (it sends Last-Event-ID, so the server
// resumes right after the last event seen). onState(state, detail): "online" once a stream
// is open, "offline" with the delay before the next try, "closed" with the error when
// the server refused for good (a 4xx other than 429: a revoked token, say).
// Backoff: 250 ms doubling to 4 s, back to 250 ms after a stream opened. A stream that
// stays silent for `silenceMs` (the server pings every few seconds) counts as dead.
export function follow({ open, onEvent, onState, minDelayMs = 250, maxDelayMs = 4000, silenceMs = 30000 }) {
  let stopped = false;
  let controller = null;
  let delay = minDelayMs;

  async function readOnce() {
    controller = new AbortController();
    const ctl = controller;
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctl.abort(), silenceMs);
    };
    try {
      arm();
      const res = await open(ctl.signal);
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        const text = await res.text().catch(() => '');
        let message = `HTTP ${res.status}`;
        try { message = JSON.parse(text).error || message; } catch { /* not JSON: keep the status */ }
        return { final: true, status: res.status, message };
      }
      if (!res.ok || !(res.headers.get('content-type') || '').startsWith('text/event-stream')) {
        throw new Error(`HTTP ${res.status}`);
      }
      onState('online');
      delay = minDelayMs;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser(onEvent);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return { final: false };
        arm();
        parser.push(value);
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  (async () => {
    while (!stopped) {
      try {
        const result = await readOnce();
        if (result.final) {
          if (!stopped) onState('closed', result);
          return;
        }
      } catch {
        // A broken connection, a refused one, a silent one: all mean "try again".
      }
      if (stopped) return;
      onState('offline', delay);
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  })();

  return {
    stop() {
      stopped = true;
      if (controller) controller.abort();
    },
  };
}
