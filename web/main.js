// The brain's web view (docs/web.md): sign in with a token, then the chosen project's
// state, live. The token is kept in this tab's sessionStorage (gone when the tab closes),
// sent only in the Authorization header, never put in a URL; everything shown comes from
// the API under that token's rights.
import { ApiError, createApi } from './api.js';
import { createBoard } from './board.js';
import { createChat } from './chat.js';
import { el, note, replace } from './dom.js';
import { createSync } from './sync.js';

const TOKEN_KEY = 'hostsync.brain.token';
const PROJECT_KEY = 'hostsync.brain.project';
const REFRESH_MS = 2000;   // how often the panels are read again (the chat is live)

const UNREACHABLE = 'The server cannot be reached.';

const $ = (id) => document.getElementById(id);
let session = null;

function setConnection(state, text) {
  const c = $('conn');
  c.dataset.state = state;
  c.textContent = text;
}

function showSignIn(message) {
  $('app').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  setConnection('signed-out', 'Signed out');
  $('token').focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (session) session.stop();
  session = null;
  showSignIn(message);
}

// The panels are read again every REFRESH_MS, and soon after each live chat message
// (a push, a handoff or a conflict posts one); never two reads at once.
function scheduler(s) {
  let timer = null;
  let running = false;
  let again = false;
  async function tick() {
    if (running) { again = true; return; }
    running = true;
    try {
      await Promise.all([s.board.refresh(), s.sync ? s.sync.refresh() : null]);
    } finally {
      running = false;
      if (session === s) schedule(again ? 0 : REFRESH_MS);
      again = false;
    }
  }
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }
  return { schedule, stop: () => clearTimeout(timer) };
}

function drawProjects(s) {
  const list = [...s.projects].sort();
  replace($('project'), list.length ? list.map((p) => el('option', { value: p, text: p, selected: p === s.project }))
    : el('option', { value: '', text: 'no project yet' }));
}

function chooseProject(s, project) {
  s.project = project || null;
  if (s.project) {
    s.projects.add(s.project);
    sessionStorage.setItem(PROJECT_KEY, s.project);
  }
  drawProjects(s);
  s.chat.setProject(s.project);
  s.board.setProject(s.project);
  s.refresh.schedule(0);
}

function onStreamState(s, state, detail) {
  if (session !== s) return;
  if (state === 'online') {
    if (s.offline) s.refresh.schedule(0);   // back after a gap: read the panels now
    s.offline = false;
    setConnection('online', 'Live');
  } else if (state === 'offline') {
    s.offline = true;
    setConnection('offline', `Offline: reconnecting in ${Math.max(1, Math.round(detail / 1000))} s`);
  } else if (detail.status === 401) {
    signOut(`Signed out: the server refused the token (${detail.message}).`);
  } else {
    s.offline = true;
    setConnection('offline', `The chat stream was refused: ${detail.message}`);
  }
}

async function signIn(token) {
  let s = null;
  const api = createApi(token, {
    onUnauthorized: (message) => {
      if (s && session === s) signOut(`Signed out: the server refused the token (${message}).`);
    },
  });
  let me;
  try {
    me = await api.get('/whoami');
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return err.status === 0 ? UNREACHABLE : `The server refused the token: ${err.message}`;
  }
  if (session) session.stop();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  $('identity').textContent = `${me.ai}/@${me.agent} on ${me.machine}`
    + (me.tenant ? ` · tenant ${me.tenant}, level ${me.level}` : '');

  const all = (me.projects || []).includes('*');
  s = { api, me, projects: new Set((me.projects || []).filter((p) => p !== '*')), project: null, offline: false };
  s.board = createBoard({
    api, me,
    nodes: { lock: $('lock'), lastPush: $('last-push'), tasks: $('tasks'), tasksStatus: $('tasks-status'),
             handoffs: $('handoffs'), handoffsStatus: $('handoffs-status'), conflicts: $('conflicts') },
  });
  s.chat = createChat({
    api, me, list: $('messages'), form: $('chat-form'), input: $('chat-input'), target: $('chat-target'),
    status: $('chat-status'),
    onMessage: (m, live) => {
      if (all && typeof m.project === 'string' && !s.projects.has(m.project)) {
        s.projects.add(m.project);
        drawProjects(s);
      }
      if (live && session === s) s.refresh.schedule(100);
    },
    onState: (state, detail) => onStreamState(s, state, detail),
  });
  s.sync = me.tenant && me.level === 1
    ? createSync({ api, nodes: { proposals: $('proposals'), events: $('events'), status: $('sync-status') } }) : null;
  $('sync-panel').hidden = !s.sync;
  $('open-project').hidden = !all;
  s.refresh = scheduler(s);
  s.stop = () => { s.refresh.stop(); s.chat.stop(); };
  session = s;

  setConnection('connecting', 'Connecting…');
  replace($('messages'));
  try {
    await s.chat.begin();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (session === s) replace($('messages'), note(`Cannot read the chat: ${err.message}`, 'error'));
  }
  if (session !== s) return null;
  const saved = sessionStorage.getItem(PROJECT_KEY);
  const first = [...s.projects].sort()[0];
  chooseProject(s, saved && (all || s.projects.has(saved)) ? saved : first);
  // Signed in: the focus goes where one writes (the sign-in form it was in is gone).
  const focused = document.activeElement;
  if (!focused || focused === document.body || $('signin').contains(focused)) $('chat-input').focus();
  return null;
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (!token) return;
  const button = e.target.querySelector('button[type="submit"]');
  button.disabled = true;
  $('signin-error').textContent = '';
  try {
    const problem = await signIn(token);
    if (problem) $('signin-error').textContent = problem;
  } finally {
    button.disabled = false;
  }
});

$('sign-out').addEventListener('click', () => signOut('Signed out.'));

$('project').addEventListener('change', (e) => {
  if (session && e.target.value) chooseProject(session, e.target.value);
});

$('open-project').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('project-name').value.trim();
  if (session && name) {
    $('project-name').value = '';
    chooseProject(session, name);
  }
});

// A reload keeps the tab's token; a server that is down at that moment is waited for
// (with backoff) rather than taken as a refusal.
async function resume(token, delayMs) {
  const problem = await signIn(token);
  if (problem === UNREACHABLE) {
    setConnection('offline', 'Offline: the server cannot be reached; retrying');
    setTimeout(() => resume(token, Math.min(delayMs * 2, 4000)), delayMs);
  } else if (problem) {
    signOut(problem);
  }
}

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) resume(saved, 250);
else showSignIn('');
