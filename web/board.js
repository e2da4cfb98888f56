// One project's state at a glance: its push lock, its last push, open tasks and handoffs
// per agent, open conflicts. Each panel is read from the API (refresh) and redrawn only
// when its data changed, so a redraw never takes the keyboard focus away for nothing.
import { ApiError, query, segment } from './api.js';
import { el, replace, time, who, agentKey, note } from './dom.js';

// Task statuses (the lifecycle API); a task stored before it as "pending" is open.
export const TASK_STATUS = ['open', 'in_progress', 'blocked', 'done'];
const statusOf = (t) => (t.status === 'pending' ? 'open' : t.status);
const label = (s) => String(s).replace(/_/g, ' ');

// Groups records by an agent name (normalised), unassigned last.
function byAgent(records, field) {
  const groups = new Map();
  for (const r of records) {
    const key = r[field] ? agentKey(r[field]) : '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
}

function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v, cls]) => [el('dt', { text: k }), el('dd', { class: cls }, v)]));
}

export function createBoard({ api, me, nodes }) {
  const myName = agentKey(me.agent);
  const drawn = new Map();   // container -> what it shows (JSON), to skip identical redraws
  let project = null;
  let generation = 0;        // answers for a project no longer shown are dropped

  function draw(container, key, build) {
    if (drawn.get(container) === key) return;
    drawn.set(container, key);
    replace(container, build());
  }

  // Loads and draws one panel; an unreachable server leaves it as it was (the page says
  // it is offline), a refusal is shown in its place.
  async function panel(container, load, build) {
    const gen = generation;
    try {
      const data = await load();
      if (gen === generation) draw(container, JSON.stringify(data), () => build(data));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 0 || gen !== generation) return;
      draw(container, `error:${err.status}:${err.message}`, () => note(`Cannot show this: ${err.message}`, 'error'));
    }
  }

  function lockView(lock) {
    nodes.lock.dataset.state = lock.held ? 'held' : 'free';
    if (!lock.held) return note(`Free: nobody holds ${lock.lock}.`, 'free');
    return facts([
      ['Holder', who(lock.holder), 'holder'],
      ['Since', time(lock.acquired_at)],
      ['Expires', time(lock.expires_at)],
      ['Fencing token', String(lock.fencing_token)],
      ['Reason', lock.reason],
    ]);
  }

  function lastPushView(state) {
    const p = state.last_push;
    nodes.lastPush.dataset.commit = p ? p.commit : '';
    if (!p) return note('No push recorded for this project yet.');
    return facts([
      ['Commit', el('code', { class: 'commit', text: p.commit }), 'commit'],
      ['By', who(p), 'pusher'],
      ['At', time(p.at)],
      ['Message', p.message, 'text'],
    ]);
  }

  async function setTaskStatus(task, select) {
    const status = select.value;
    nodes.tasksStatus.textContent = `Setting task #${task.id} to ${label(status)}…`;
    try {
      await api.post(`/tasks/${segment(task.id)}`, { status });
      nodes.tasksStatus.textContent = `Task #${task.id} is now ${label(status)}.`;
    } catch (err) {
      nodes.tasksStatus.textContent = `Task #${task.id} not changed: ${err.message}`;
    }
    drawn.delete(nodes.tasks);   // redraw even if the list reads the same (a refused change)
    await refreshTasks();
  }

  function taskView(task) {
    const id = `task-${task.id}-status`;
    const current = statusOf(task);
    const options = TASK_STATUS.includes(current) ? TASK_STATUS : [current, ...TASK_STATUS];
    const select = el('select', { id, 'data-task': task.id },
      options.map((s) => el('option', { value: s, text: label(s), selected: s === current })));
    select.addEventListener('change', () => setTaskStatus(task, select));
    return el('li', { class: 'task', id: `task-${task.id}`, 'data-status': current },
      el('p', { class: 'title' }, el('span', { class: 'seq', text: `#${task.id}` }), ' ', String(task.title)),
      el('p', { class: 'muted', text: `by @${task.created_by ?? '?'}` }),
      el('label', { for: id, class: 'inline' }, 'Status ', el('span', { class: 'sr-only', text: `of task #${task.id}` })),
      select);
  }

  function tasksView(list) {
    const open = list.tasks.filter((t) => statusOf(t) !== 'done');
    if (open.length === 0) return note('No open tasks.');
    return byAgent(open, 'assigned_to').map(([agent, tasks]) => el('section', { class: 'group' },
      el('h3', { text: agent ? `@${agent}` : 'unassigned' }),
      el('ul', { class: 'records' }, tasks.map(taskView))));
  }

  async function acknowledge(h, button) {
    button.disabled = true;
    nodes.handoffsStatus.textContent = `Acknowledging handoff #${h.id}…`;
    try {
      await api.post(`/handoffs/${segment(h.id)}/ack`);
      nodes.handoffsStatus.textContent = `Handoff #${h.id} acknowledged.`;
    } catch (err) {
      nodes.handoffsStatus.textContent = `Handoff #${h.id} not acknowledged: ${err.message}`;
      button.disabled = false;
    }
    await refreshHandoffs();
  }

  function handoffView(h) {
    const mine = agentKey(h.to_agent) === myName;
    const ack = mine && el('button', { type: 'button', 'aria-label': `Acknowledge handoff #${h.id}`, text: 'Acknowledge' });
    if (ack) ack.addEventListener('click', () => acknowledge(h, ack));
    return el('li', { class: 'handoff', id: `handoff-${h.id}` },
      el('p', { class: 'title' }, el('span', { class: 'seq', text: `#${h.id}` }), ` from @${h.from_agent}`,
        h.from_ai ? ` (${h.from_ai})` : '', h.artifact ? [': ', el('span', { class: 'artifact', text: h.artifact })] : ''),
      h.context ? el('p', { class: 'text', text: h.context }) : null,
      h.dependencies && typeof h.dependencies === 'object'
        ? el('p', { class: 'muted', text: `Depends on: ${JSON.stringify(h.dependencies)}` }) : null,
      el('p', { class: 'muted' }, time(h.created_at)),
      ack);
  }

  function handoffsView(list) {
    const open = list.handoffs.filter((h) => !h.status || h.status === 'open');
    if (open.length === 0) return note('No open handoffs.');
    return byAgent(open, 'to_agent').map(([agent, handoffs]) => el('section', { class: 'group' },
      el('h3', { text: agent ? `to @${agent}` : 'to nobody' }),
      el('ul', { class: 'records' }, handoffs.map(handoffView))));
  }

  function conflictsView(list) {
    const open = list.conflicts.filter((c) => c.status !== 'resolved');
    if (open.length === 0) return note('No open conflicts.');
    return el('ul', { class: 'records' }, open.map((c) => el('li', { class: 'conflict', id: `conflict-${c.id}` },
      el('p', { class: 'title' }, el('span', { class: 'seq', text: `#${c.id}` }), ' ', el('span', { class: 'tag', text: c.status })),
      facts([
        ['Files', (c.files || []).join(', '), 'files'],
        ['Reported by', who(c.reporter)],
        ['Coordinator', `@${c.coordinator}`],
        ['Assigned to', c.assigned_to ? `@${c.assigned_to}` : null],
        ['Summary', c.summary, 'text'],
        ['Local commit', c.local_commit, 'commit'],
        ['Since', time(c.created_at)],
      ]))));
  }

  const refreshTasks = () => panel(nodes.tasks, () => api.get(`/tasks${query({ project })}`), tasksView);
  const refreshHandoffs = () => panel(nodes.handoffs,
    () => api.get(`/handoffs${query({ project, status: 'open' })}`), handoffsView);

  return {
    setProject(p) {
      project = p;
      generation += 1;
      drawn.clear();
      for (const n of [nodes.lock, nodes.lastPush, nodes.tasks, nodes.handoffs, nodes.conflicts]) {
        replace(n, note(p ? 'Loading…' : 'No project chosen.'));
        delete n.dataset.state;
      }
      nodes.tasksStatus.textContent = '';
      nodes.handoffsStatus.textContent = '';
    },
    async refresh() {
      if (!project) return;
      await Promise.all([
        panel(nodes.lock, () => api.get(`/locks/${segment(`push:${project}`)}`), lockView),
        panel(nodes.lastPush, () => api.get(`/sync/state${query({ project })}`), lastPushView),
        refreshTasks(),
        refreshHandoffs(),
        panel(nodes.conflicts, () => api.get(`/conflicts${query({ project })}`), conflictsView),
      ]);
    },
  };
}
