// The chatroom, live: the recent history from GET /chat, then GET /chat/stream from the
// last id seen (sse.js), with a post box. Shows the chosen project's messages and the
// lobby's (messages without a project, which are the whole team's).
import { query } from './api.js';
import { el, time, agentKey } from './dom.js';
import { follow } from './sse.js';

const KEEP = 1000;       // messages kept in memory (all projects)
const HISTORY = 200;     // of which loaded at start
const PAGE = 1000;       // the server's largest page of GET /chat

// The server's mention syntax (brain/names.lua: '@' and 1 to 64 of ASCII letters, digits,
// '_' and '-', compared in lower case; a longer run is no name).
const MENTION = /@([A-Za-z0-9_-]+)/g;
const NAME_MAX = 64;

// The text of a message as nodes, each @mention in a <mark> (class "me" for mine).
export function messageText(text, me) {
  const out = [];
  let at = 0;
  for (const m of text.matchAll(MENTION)) {
    if (m[1].length > NAME_MAX) continue;
    if (m.index > at) out.push(document.createTextNode(text.slice(at, m.index)));
    const mine = m[1].toLowerCase() === me;
    out.push(el('mark', { class: mine ? 'mention me' : 'mention', text: m[0] }));
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}

export function createChat({ api, me, list, form, input, target, status, onMessage, onState }) {
  const myName = agentKey(me.agent);
  const messages = [];        // oldest first, ids increasing
  let lastId = 0;
  let project = null;
  let stream = null;

  const shown = (m) => m.project === null || m.project === undefined || m.project === project;

  function render(m) {
    const mentionsMe = (m.mentions || []).some((n) => agentKey(n) === myName);
    const cls = ['msg', `type-${String(m.type).replace(/[^a-z]/g, '')}`, mentionsMe ? 'mentions-me' : ''].filter(Boolean);
    return el('li', { class: cls.join(' '), 'data-id': m.id },
      el('div', { class: 'meta' },
        el('span', { class: 'seq', text: `#${m.id}` }), ' ',
        time(m.created_at), ' ',
        el('span', { class: 'from', text: `${m.ai}/@${m.agent}` }), ' ',
        el('span', { class: 'tag', text: m.type }),
        m.project ? [' ', el('span', { class: 'tag project', text: m.project })] : ' lobby'),
      el('p', { class: 'text' }, messageText(String(m.message), myName)));
  }

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40;

  function redraw() {
    list.replaceChildren(...messages.filter(shown).map(render));
    list.scrollTop = list.scrollHeight;
  }

  // A message from the history or the stream; an id already passed is skipped, so a
  // reconnect that overlaps never shows one twice.
  function add(m, live) {
    if (typeof m.id !== 'number' || m.id <= lastId) return;
    lastId = m.id;
    messages.push(m);
    if (messages.length > KEEP) {
      const gone = messages.shift();
      list.querySelector(`li[data-id="${gone.id}"]`)?.remove();
    }
    if (shown(m)) {
      const stick = nearBottom();
      list.append(render(m));
      if (stick) list.scrollTop = list.scrollHeight;
    }
    onMessage(m, live);
  }

  // The latest HISTORY messages: GET /chat pages forward only, so read to the end.
  async function loadHistory() {
    const ring = [];
    let since = 0;
    for (;;) {
      const page = await api.get(`/chat${query({ since, limit: PAGE })}`);
      for (const m of page.messages) {
        ring.push(m);
        if (ring.length > HISTORY) ring.shift();
        since = m.id;
      }
      if (page.messages.length < PAGE) break;
    }
    for (const m of ring) add(m, false);
  }

  function start() {
    stream = follow({
      open: (signal) => fetch('/chat/stream', {
        headers: api.headers({ Accept: 'text/event-stream', 'Last-Event-ID': String(lastId) }),
        cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', signal,
      }),
      onEvent: (ev) => {
        if (ev.event !== 'chat') return;
        let m;
        try { m = JSON.parse(ev.data); } catch { return; }
        add(m, true);
      },
      onState,
    });
  }

  async function post(e) {
    e.preventDefault();
    const message = input.value;
    if (!message.trim()) return;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    status.textContent = 'Posting…';
    try {
      const r = await api.post('/chat', { message, project: target.value || undefined });
      input.value = '';
      status.textContent = `Posted #${r.id}.`;
    } catch (err) {
      status.textContent = `Not posted: ${err.message}`;
    } finally {
      button.disabled = false;
      input.focus();
    }
  }

  // Enter posts; Shift+Enter is a new line; Enter while an input method composes is its own.
  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  }

  form.addEventListener('submit', post);
  input.addEventListener('keydown', onKey);

  return {
    async begin() {
      await loadHistory();
      start();
    },
    setProject(p) {
      project = p;
      target.replaceChildren(
        ...(p ? [el('option', { value: p, text: `project ${p}` })] : []),
        el('option', { value: '', text: 'lobby (whole team)' }));
      redraw();
    },
    projects: () => new Set(messages.map((m) => m.project).filter((p) => typeof p === 'string')),
    stop() {
      if (stream) stream.stop();
      form.removeEventListener('submit', post);
      input.removeEventListener('keydown', onKey);
    },
  };
}
