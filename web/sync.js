// The sync contract's decisions waiting for the user (docs/sync-contract.md): the open
// proposals of the token's tenant, with Accept and Dismiss, and the recent sync_events.
// Only for a user-level (level 1) token: accepting and resolving are user actions, and
// the server refuses them to any other level anyway.
//
// The feed (GET /sync/pull) is read incrementally from the last cursor: every entity at
// its newest version and every proposal with its status, a closed one coming again with
// its new status. So the page knows, for each open proposal, the entity's current
// version and content, which both decisions need.
import { ApiError, query, randomHex } from './api.js';
import { el, replace, time, note } from './dom.js';

const EVENTS_SHOWN = 20;
const key = (t, id) => `${t}\u0000${id}`;

export function createSync({ api, nodes }) {
  let cursor = 0;
  let eventCursor = 0;
  const entities = new Map();    // type\0id -> the current item (its version, payload, deleted)
  const proposals = new Map();   // proposal version -> item, open ones only
  let events = [];
  let drawnKey = '';
  let busy = false;

  async function pullFeed() {
    for (;;) {
      const page = await api.get(`/sync/pull${query({ since: cursor, limit: 1000 })}`);
      for (const change of page.changes) {
        const item = change.item;
        if (change.kind === 'entity') entities.set(key(item.entity_type, item.entity_id), item);
        else if (change.kind === 'proposal') {
          if (item.status === 'open') proposals.set(item.version, item);
          else proposals.delete(item.version);
        }
      }
      cursor = page.next ?? cursor;
      if (!page.more) return;
    }
  }

  async function pullEvents() {
    for (;;) {
      const page = await api.get(`/sync/events${query({ since: eventCursor, limit: 1000 })}`);
      // Two reads may overlap (a decision reads while the timer does): each event once.
      const newest = events.length ? events[events.length - 1].id : 0;
      events = events.concat(page.events.filter((e) => e.id > newest)).slice(-EVENTS_SHOWN);
      eventCursor = page.next ?? eventCursor;
      if (!page.more) return;
    }
  }

  function say(text) { nodes.status.textContent = text; }

  // Accept: the proposal's content as the user's own (the upgrade rule), based on the
  // entity's current version; the server closes the proposal when it applies the change.
  async function accept(p) {
    const current = entities.get(key(p.entity_type, p.entity_id));
    const item = {
      mutation_id: `web-${randomHex()}`,
      entity_type: p.entity_type,
      entity_id: p.entity_id,
      version: current ? current.version : 0,
      truth_level: 1,
      accepted_by_user: true,
      accepts_proposal: p.version,
      payload: p.payload ?? {},
      deleted: p.deleted === true,
      origin_chain: [{ level: 1, source: 'web-view', op: 'accept', from: 'proposal',
                       from_level: p.truth_level, from_source: p.origin_source, from_version: p.version }],
    };
    const res = await api.post('/sync/push', { items: [item] });
    const r = res.results[0];
    if (r.status !== 'applied') throw new Error(`${r.status}: ${r.reason ?? 'not applied'}`);
    return `Accepted proposal ${p.version}: ${p.entity_type}/${p.entity_id} is now version ${r.version}.`;
  }

  // Dismiss: the user's explicit merge that keeps the current content and closes the
  // proposal (POST /sync/conflict-resolve with proposal_version). A proposal for an entity
  // that does not exist is dismissed by writing it as deleted (a tombstone).
  async function dismiss(p) {
    const current = entities.get(key(p.entity_type, p.entity_id));
    const r = await api.post('/sync/conflict-resolve', {
      entity_type: p.entity_type,
      entity_id: p.entity_id,
      base_version: current ? current.version : 0,
      payload: current ? (current.payload ?? {}) : {},
      deleted: current ? current.deleted === true : true,
      proposal_version: p.version,
    });
    return `Dismissed proposal ${p.version}: ${p.entity_type}/${p.entity_id} kept as it was (version ${r.version}).`;
  }

  async function decide(action, p) {
    if (busy) return;
    busy = true;
    for (const b of nodes.proposals.querySelectorAll('button')) b.disabled = true;   // one decision at a time
    say(`${action === accept ? 'Accepting' : 'Dismissing'} proposal ${p.version}…`);
    try {
      await pullFeed();   // decide against the newest version of the entity
      say(await action(p));
    } catch (err) {
      say(`Proposal ${p.version}: ${err.message}${err.status === 409 ? ' (it changed meanwhile; look again)' : ''}`);
    } finally {
      busy = false;
      drawnKey = '';   // redraw (buttons enabled again) even if nothing changed
      await refresh();
    }
  }

  function json(value) {
    return el('pre', { class: 'json', text: JSON.stringify(value ?? null, null, 1) });
  }

  function proposalView(p) {
    const current = entities.get(key(p.entity_type, p.entity_id));
    const acceptBtn = el('button', { type: 'button', 'aria-label': `Accept proposal ${p.version}`, text: 'Accept' });
    const dismissBtn = el('button', { type: 'button', 'aria-label': `Dismiss proposal ${p.version}`, text: 'Dismiss' });
    acceptBtn.addEventListener('click', () => decide(accept, p));
    dismissBtn.addEventListener('click', () => decide(dismiss, p));
    return el('li', { class: 'proposal', id: `proposal-${p.version}`, 'data-version': p.version },
      el('p', { class: 'title' }, el('span', { class: 'seq', text: `v${p.version}` }), ' ',
        el('span', { class: 'entity', text: `${p.entity_type}/${p.entity_id}` }),
        ` by ${p.origin_source ?? '?'} (level ${p.truth_level ?? '?'})`, p.deleted ? ': delete' : ''),
      el('p', { class: 'muted' }, 'proposed ', time(p.last_modified_at),
        `, on version ${p.base_version ?? 0}; current version ${current ? current.version : 'none'}`),
      el('div', { class: 'compare' },
        el('div', {}, el('h4', { text: 'Current' }), current ? json(current.payload) : note('no such entity')),
        el('div', {}, el('h4', { text: 'Proposed' }), json(p.payload))),
      el('div', { class: 'actions' }, acceptBtn, dismissBtn));
  }

  function eventView(e) {
    return el('li', { class: 'event', 'data-kind': e.kind },
      el('span', { class: 'seq', text: `#${e.id}` }), ' ', time(e.created_at), ' ',
      el('span', { class: 'tag', text: e.kind }), e.rule ? ` ${e.rule}` : '', ' ',
      el('span', { class: 'entity', text: `${e.entity_type}/${e.entity_id}` }),
      e.reason ? el('span', { class: 'muted', text: ` ${e.reason}` }) : null);
  }

  function draw() {
    const open = [...proposals.values()].sort((a, b) => a.version - b.version);
    const state = JSON.stringify([open, open.map((p) => entities.get(key(p.entity_type, p.entity_id))?.version),
      events.map((e) => e.id)]);
    if (state === drawnKey) return;
    drawnKey = state;
    replace(nodes.proposals, open.length ? el('ul', { class: 'records' }, open.map(proposalView))
      : note('No proposals waiting for a decision.'));
    replace(nodes.events, [...events].reverse().map(eventView));
  }

  async function refresh() {
    try {
      await pullFeed();
      await pullEvents();
      draw();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status !== 0) say(`Cannot read the sync feed: ${err.message}`);
    }
  }

  return { refresh };
}
