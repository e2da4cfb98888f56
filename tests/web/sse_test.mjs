// The web view's event-stream reader (web/sse.js) without a browser: the parser against
// the format's corner cases (line endings split across chunks, comments, multi-line data,
// ids), and follow() reconnecting, resuming and stopping on a refusal. Node's test
// runner, run by CTest (tests/CMakeLists.txt). The browser tests
// (tests/e2e/test_web_view.py) run the same module against a real server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser, follow } from '../../web/sse.js';

function parse(...chunks) {
  const events = [];
  const p = new SseParser((e) => events.push(e));
  for (const c of chunks) p.push(c);
  return events;
}

test('events end at a blank line, with any line ending', () => {
  for (const nl of ['\n', '\r\n', '\r']) {
    const text = `event: chat${nl}id: 7${nl}data: {"a":1}${nl}${nl}data: b${nl}${nl}`;
    assert.deepEqual(parse(text), [
      { id: '7', event: 'chat', data: '{"a":1}' },
      { id: '7', event: 'message', data: 'b' },   // the id persists, the event name does not
    ], JSON.stringify(nl));
  }
});

test('a line split anywhere, \\r\\n split between chunks included, gives the same events', () => {
  const text = 'id: 12\r\nevent: chat\r\ndata: héllo\r\ndata: second line\r\n\r\n: ping\r\n\r\nevent: ping\r\ndata: \r\n\r\n';
  const whole = parse(text);
  assert.deepEqual(whole, [
    { id: '12', event: 'chat', data: 'héllo\nsecond line' },
    { id: '12', event: 'ping', data: '' },
  ]);
  for (let i = 1; i < text.length; i += 1) {
    assert.deepEqual(parse(text.slice(0, i), text.slice(i)), whole, `split at ${i}`);
  }
  assert.deepEqual(parse(...text), whole, 'one character at a time');
});

test('a \\r at the end of a chunk ends its line now; a \\n starting the next chunk is its other half', () => {
  assert.deepEqual(parse('data: x\r'), []);
  assert.deepEqual(parse('data: x\r', '\r'), [{ id: null, event: 'message', data: 'x' }]);
  assert.deepEqual(parse('data: x\r', '\ndata: y\r', '\n\r\n'), [{ id: null, event: 'message', data: 'x\ny' }]);
});

test('comments, unknown fields, fields without a colon, one leading space only', () => {
  assert.deepEqual(parse(': comment\nretry: 10\nfoo: bar\ndata\ndata:  two spaces\n\n'), [
    { id: null, event: 'message', data: '\n two spaces' },
  ]);
});

test('no data, no event; an id with NUL is ignored; an empty id resets', () => {
  assert.deepEqual(parse('id: 1\nevent: chat\n\ndata: x\n\n'), [{ id: '1', event: 'message', data: 'x' }]);
  assert.deepEqual(parse('id: 1\n\nid: 2\u0000\ndata: x\n\nid\ndata: y\n\n'), [
    { id: '1', event: 'message', data: 'x' },
    { id: '', event: 'message', data: 'y' },
  ]);
});

// A Response whose body is the given chunks, then its end.
function streamResponse(chunks, status = 200, type = 'text/event-stream') {
  const body = new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      c.close();
    },
  });
  return new Response(body, { status, headers: { 'content-type': type } });
}

test('follow() reconnects after an end or a failure, resumes from the last id, stops on a 4xx', async () => {
  const opened = [];
  const states = [];
  const seen = [];
  let lastId = '0';
  const answers = [
    () => streamResponse(['id: 1\nevent: chat\ndata: a\n\n', 'id: 2\nevent: chat\ndata: b\n\n']),
    () => { throw new TypeError('connection refused'); },
    () => streamResponse(['oops'], 503, 'application/json'),
    () => streamResponse(['id: 3\nevent: chat\ndata: c\n\n']),
    () => new Response('{"error":"this token was revoked"}', { status: 401 }),
  ];
  await new Promise((resolve) => {
    follow({
      open: async () => { opened.push(lastId); return answers[opened.length - 1](); },
      onEvent: (e) => { seen.push(e.data); lastId = e.id; },
      onState: (state, detail) => {
        states.push(state === 'offline' ? 'offline' : state);
        if (state === 'closed') resolve(detail);
      },
      minDelayMs: 1,
      maxDelayMs: 2,
    });
  });
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.deepEqual(opened, ['0', '2', '2', '2', '3']);   // each try resumes after the last event
  assert.deepEqual(states, ['online', 'offline', 'offline', 'offline', 'online', 'offline', 'closed']);
});

test('follow() passes the server\'s reason on a refusal, and stop() ends it', async () => {
  const detail = await new Promise((resolve) => {
    follow({
      open: async () => new Response('{"error":"this token expired at T"}', { status: 401 }),
      onEvent: () => assert.fail('no event expected'),
      onState: (state, d) => { if (state === 'closed') resolve(d); },
    });
  });
  assert.deepEqual(detail, { final: true, status: 401, message: 'this token expired at T' });

  let opens = 0;
  let stream = null;
  await new Promise((resolve) => {
    stream = follow({
      open: async (signal) => {
        opens += 1;
        // Never ends by itself: only stop() (the abort) ends it.
        const body = new ReadableStream({ start(c) { signal.addEventListener('abort', () => c.error(new Error('aborted'))); } });
        resolve();
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      },
      onEvent: () => {},
      onState: (state) => assert.notEqual(state, 'closed'),
    });
  });
  stream.stop();
  await new Promise((resolve) => { setImmediate(resolve); });
  assert.equal(opens, 1);
});
