// Building the page from data without ever parsing data as HTML: text goes in as text
// nodes (or textContent), attributes through setAttribute on names written here, never
// innerHTML. So a chat message "<script>..." is shown as those characters.

// el("li", {class: "msg", "data-id": 3}, "text", childNode, [more]) -> the element.
// Props: class, text (textContent), on<event> (a listener), anything else an attribute
// (true: present and empty; false, null, undefined: left out).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replaces a container's content, keeping keyboard focus on the element with the same id
// when there is one (a panel redrawn under a focused select must not throw the focus away).
export function replace(container, ...children) {
  const focused = document.activeElement;
  const focusId = focused && container.contains(focused) ? focused.id : '';
  container.replaceChildren();
  append(container, children);
  if (focusId) {
    const again = document.getElementById(focusId);
    if (again && container.contains(again)) again.focus();
  }
}

// An ISO time as the reader's local date and time, in a <time> element.
export function time(iso) {
  if (!iso) return el('span', { class: 'muted', text: 'unknown time' });
  const d = new Date(iso);
  const text = Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  return el('time', { datetime: iso, text });
}

// "ai/@agent on machine" for a holder, reporter or writer.
export function who(p) {
  if (!p) return 'unknown';
  return `${p.ai ?? '?'}/@${p.agent ?? '?'}${p.machine ? ` on ${p.machine}` : ''}`;
}

// An agent name as the server compares them: without '@', lower case.
export function agentKey(name) {
  return String(name ?? '').replace(/^@/, '').toLowerCase();
}

// A note shown in place of a panel's content (empty, refused, unreachable).
export function note(text, kind = 'muted') {
  return el('p', { class: kind, text });
}
