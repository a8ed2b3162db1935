// edge-sentinel dashboard: plain JS, no build step. Loads recent alerts from
// /api/alerts, then follows /api/stream (Server-Sent Events read through fetch, so the
// API key goes in a header, never in the URL) from the list's `seq` on, resuming with
// Last-Event-ID after a disconnect.
'use strict';

(() => {
  const KINDS = ['replay', 'clone', 'credential_change', 'credential_shared', 'source_change', 'firmware_downgrade', 'clock_skew', 'rate_spike', 'silence', 'size_anomaly', 'metric_anomaly'];
  const RANK = { low: 0, medium: 1, high: 2 };
  const MAX_ROWS = 500;
  const VERDICT_TEXT = { true_positive: 'true positive', false_positive: 'false positive', benign: 'benign' };
  const VERDICT_CLASS = { true_positive: 'tp', false_positive: 'fp', benign: 'bn' };

  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector('#alerts tbody');
  const alerts = new Map(); // id → alert
  let order = []; // ids, newest first
  const fresh = new Set();
  let selected = null;
  let lastSeq = null;
  let streamAbort = null;
  let generation = 0;
  let deviceTimer = null;
  let renderQueued = false;

  // ---- API key (this tab only) and requests ----
  const key = () => sessionStorage.getItem('edge-sentinel-key') || '';
  function headers(extra) {
    const h = Object.assign({ accept: 'application/json' }, extra || {});
    if (key()) h['x-api-key'] = key();
    return h;
  }
  async function api(path, init) {
    const res = await fetch(path, Object.assign({}, init, { headers: headers(init && init.headers) }));
    if (res.status === 401) {
      needKey();
      throw new Error('unauthorized');
    }
    if (!res.ok) {
      let msg = res.status + ' ' + res.statusText;
      try { msg = (await res.json()).message || msg; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    return res.json();
  }
  function needKey() {
    setConn('unauthorized', 'API key needed');
    $('keybar').hidden = false;
    $('apikey').focus();
  }
  $('keybar').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('edge-sentinel-key', $('apikey').value.trim());
    $('apikey').value = '';
    $('keybar').hidden = true;
    reload();
  });

  // ---- filters ----
  for (const k of KINDS) {
    const o = document.createElement('option');
    o.value = k;
    o.textContent = k.replace(/_/g, ' ');
    $('f-kind').appendChild(o);
  }
  function filters() {
    return { severity: $('f-severity').value, kind: $('f-kind').value, status: $('f-status').value, deviceId: $('f-device').value.trim() };
  }
  function matches(a, f) {
    if (f.severity && RANK[a.severity] < RANK[f.severity]) return false;
    if (f.kind && a.kind !== f.kind) return false;
    if (f.status && a.status !== f.status) return false;
    if (f.deviceId && a.deviceId !== f.deviceId) return false;
    return true;
  }
  let debounce = null;
  $('filters').addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(reload, 250);
  });
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());

  // ---- formatting ----
  const pad = (n) => String(n).padStart(2, '0');
  function time(ms) {
    if (!Number.isFinite(ms) || ms <= 0) return '—';
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  function duration(ms) {
    if (!Number.isFinite(ms) || ms < 0) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 120000) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
    if (ms < 7200000) return `${(ms / 60000).toFixed(0)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  }
  const num = (x, d) => (Number.isFinite(x) ? x.toFixed(d === undefined ? 2 : d) : '—');
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function pill(sev) {
    return el('span', `pill ${sev}`, sev);
  }
  function stateText(a) {
    if (a.verdict) return VERDICT_TEXT[a.verdict.verdict];
    return a.status;
  }
  function toast(text) {
    const t = $('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 2500);
  }
  function setConn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    c.textContent = text;
  }

  // ---- table ----
  function upsert(a, isNew) {
    const had = alerts.has(a.id);
    alerts.set(a.id, a);
    if (!had) {
      // newest detection first (a client may learn of an alert later than it was raised)
      let i = 0;
      while (i < order.length && alerts.get(order[i]).detectedAt > a.detectedAt) i++;
      order.splice(i, 0, a.id);
      if (isNew) fresh.add(a.id);
      if (order.length > MAX_ROWS * 2) for (const id of order.splice(MAX_ROWS * 2)) alerts.delete(id);
    }
    if (selected === a.id) showAlert(a);
    queueRender();
  }
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }
  function render() {
    renderQueued = false;
    const f = filters();
    const rows = [];
    const open = { high: 0, medium: 0, low: 0 };
    for (const id of order) {
      const a = alerts.get(id);
      if (a.status === 'open' && !a.verdict) open[a.severity]++;
      if (rows.length < MAX_ROWS && matches(a, f)) rows.push(a);
    }
    const frag = document.createDocumentFragment();
    for (const a of rows) {
      const tr = el('tr');
      tr.dataset.id = a.id;
      if (a.id === selected) tr.classList.add('selected');
      if (a.status === 'closed') tr.classList.add('closed');
      if (fresh.has(a.id)) tr.classList.add('fresh');
      tr.appendChild(el('td', 't', time(a.detectedAt)));
      const sev = el('td');
      sev.appendChild(pill(a.severity));
      tr.appendChild(sev);
      tr.appendChild(el('td', 'kind', a.kind.replace(/_/g, ' ')));
      tr.appendChild(el('td', 'dev mono', a.deviceId));
      const s = el('td', 'summary');
      s.appendChild(el('span', '', a.summary));
      s.title = a.summary;
      tr.appendChild(s);
      tr.appendChild(el('td', 'n', String(a.count)));
      tr.appendChild(el('td', 'state' + (a.verdict ? ' ' + VERDICT_CLASS[a.verdict.verdict] : ''), stateText(a)));
      frag.appendChild(tr);
    }
    fresh.clear();
    tbody.replaceChildren(frag);
    $('empty').hidden = rows.length > 0;
    $('shown').textContent = rows.length ? `${rows.length} alert${rows.length === 1 ? '' : 's'} shown` : '';
    for (const s of ['high', 'medium', 'low']) $('count-' + s).textContent = open[s];
  }
  tbody.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr');
    if (!tr) return;
    select(tr.dataset.id);
  });

  // ---- detail: alert, verdict, device ----
  function select(id) {
    selected = id;
    const a = alerts.get(id);
    if (!a) return;
    showAlert(a);
    showDevice(a.deviceId);
    queueRender();
  }
  function fact(dl, name, value) {
    dl.appendChild(el('dt', '', name));
    dl.appendChild(el('dd', '', value === null || value === undefined || value === '' ? '—' : String(value)));
  }
  function value(k, x) {
    if (typeof x === 'number') {
      if (/Ms$/.test(k)) return duration(Math.abs(x));
      if (/(At|Arrival|Ts)$/.test(k) && x > 1e11) return time(x);
      return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
    }
    if (x && typeof x === 'object') return JSON.stringify(x);
    return String(x);
  }
  function evidenceText(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v !== 'object') return value('', v);
    return Object.entries(v).map(([k, x]) => `${k.replace(/Ms$/, '')}: ${value(k, x)}`).join(', ');
  }
  function showAlert(a) {
    $('placeholder').hidden = true;
    $('alert-detail').hidden = false;
    const sev = $('d-severity');
    sev.className = `pill ${a.severity}`;
    sev.textContent = a.severity;
    $('d-kind').textContent = a.kind.replace(/_/g, ' ');
    $('d-state').textContent = a.status;
    $('d-summary').textContent = a.summary;
    const dl = $('d-facts');
    dl.replaceChildren();
    fact(dl, 'device', a.deviceId);
    fact(dl, 'score', num(a.score, 3));
    fact(dl, 'first seen', time(a.firstSeen));
    fact(dl, 'last seen', time(a.lastSeen));
    fact(dl, 'events', a.count);
    fact(dl, 'expected', evidenceText(a.evidence && a.evidence.expected));
    fact(dl, 'observed', evidenceText(a.evidence && a.evidence.observed));
    fact(dl, 'reasons', (a.reasons || []).join(', '));
    const o = a.origin || {};
    fact(dl, 'origin', o.topic ? `${o.topic}[${o.partition}] @ ${o.offset}` : o.file ? `${o.file}:${o.line}` : '—');
    fact(dl, 'id', a.id);
    for (const b of document.querySelectorAll('button.v')) b.classList.toggle('on', !!a.verdict && a.verdict.verdict === b.dataset.verdict);
    const v = a.verdict;
    $('d-verdict').textContent = v
      ? `${VERDICT_TEXT[v.verdict]} by ${v.by}${v.note ? ` — “${v.note}”` : ''}${v.suppressedUntil ? ` · ${a.kind.replace(/_/g, ' ')} on this device suppressed until ${time(v.suppressedUntil)}` : ''}`
      : 'No verdict yet.';
  }
  for (const b of document.querySelectorAll('button.v')) {
    b.addEventListener('click', async () => {
      const id = selected;
      if (!id) return;
      const body = { verdict: b.dataset.verdict };
      const note = $('d-note').value.trim();
      if (note) body.note = note;
      try {
        const a = await api(`/api/alerts/${encodeURIComponent(id)}/verdict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        $('d-note').value = '';
        upsert(a, false);
        toast(`Marked ${VERDICT_TEXT[a.verdict.verdict]}`);
      } catch (err) {
        toast(`Verdict not saved: ${err.message}`);
      }
    });
  }

  function spark(svg, values, opts) {
    svg.replaceChildren();
    const W = 300;
    const H = 44;
    const ns = 'http://www.w3.org/2000/svg';
    if (values.length === 0) return;
    let lo = opts.min !== undefined ? opts.min : Math.min(...values);
    let hi = opts.max !== undefined ? opts.max : Math.max(...values);
    if (opts.band) {
      lo = Math.min(lo, opts.band[0]);
      hi = Math.max(hi, opts.band[1]);
    }
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const y = (v) => (H - 3 - ((v - lo) / (hi - lo)) * (H - 6)).toFixed(1);
    const x = (i) => (values.length === 1 ? W / 2 : (i / (values.length - 1)) * W).toFixed(1);
    if (opts.band) {
      const r = document.createElementNS(ns, 'rect');
      r.setAttribute('class', 'band');
      r.setAttribute('x', '0');
      r.setAttribute('width', String(W));
      r.setAttribute('y', y(opts.band[1]));
      r.setAttribute('height', String(Math.max(1, y(opts.band[0]) - y(opts.band[1]))));
      svg.appendChild(r);
    }
    if (opts.threshold !== undefined) {
      const l = document.createElementNS(ns, 'line');
      l.setAttribute('class', 'thr');
      l.setAttribute('x1', '0');
      l.setAttribute('x2', String(W));
      l.setAttribute('y1', y(opts.threshold));
      l.setAttribute('y2', y(opts.threshold));
      svg.appendChild(l);
    }
    const p = document.createElementNS(ns, 'polyline');
    if (opts.cls) p.setAttribute('class', opts.cls);
    p.setAttribute('points', values.map((v, i) => `${x(i)},${y(v)}`).join(' '));
    svg.appendChild(p);
  }

  async function showDevice(deviceId) {
    clearTimeout(deviceTimer);
    const mine = deviceId;
    let d;
    try {
      d = await api(`/api/devices/${encodeURIComponent(deviceId)}`);
    } catch (err) {
      if (selectedDevice() !== mine) return;
      $('device').hidden = false;
      $('dev-id').textContent = deviceId;
      $('dev-note').textContent = `Device state unavailable: ${err.message}`;
      return;
    }
    if (selectedDevice() !== mine) return;
    $('device').hidden = false;
    $('dev-id').textContent = deviceId;
    const hist = d.history || [];
    spark($('dev-score'), hist.map((p) => p.score), { min: 0, max: 1, threshold: 0.5, cls: 'score' });
    $('dev-score-last').textContent = hist.length ? num(hist[hist.length - 1].score, 2) : '';
    const box = $('dev-metrics');
    box.replaceChildren();
    const dev = d.device;
    const names = new Set();
    for (const p of hist) for (const n of Object.keys(p.metrics)) names.add(n);
    for (const name of names) {
      const values = hist.filter((p) => name in p.metrics).map((p) => p.metrics[name]);
      const base = dev && dev.metrics.find((m) => m.name === name);
      const block = el('div', 'spark-block');
      const title = el('div', 'spark-title');
      title.appendChild(el('span', '', name));
      title.appendChild(el('span', 'mono', `${num(values[values.length - 1])}${base ? `  (usual step ± ${num(base.step)})` : ''}`));
      block.appendChild(title);
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('viewBox', '0 0 300 44');
      svg.setAttribute('preserveAspectRatio', 'none');
      block.appendChild(svg);
      box.appendChild(block);
      spark(svg, values, base && base.samples > 1 ? { band: [base.last - 2 * base.step, base.last + 2 * base.step] } : {});
    }
    const dl = $('dev-facts');
    dl.replaceChildren();
    if (dev) {
      fact(dl, 'last seen', time(dev.lastArrival));
      fact(dl, 'events', dev.events);
      fact(dl, 'source', dev.source);
      if (dev.previousSource) fact(dl, 'previous source', `${dev.previousSource} (changed ${time(dev.sourceChangedAt)})`);
      fact(dl, 'credential', dev.credentialHash ? `hash ${dev.credentialHash}` : null);
      fact(dl, 'firmware', dev.firmware);
      fact(dl, 'seq', dev.seq >= 0 ? dev.seq : 'none sent');
      fact(dl, 'interval', `usual ${duration(dev.usualIntervalMs)}, recent ${duration(dev.recentIntervalMs)}`);
      fact(dl, 'payload', `${num(dev.payloadBytes.mean, 0)} ± ${num(dev.payloadBytes.sd, 0)} bytes`);
      fact(dl, 'clock offset', duration(Math.abs(dev.clockOffsetMs)) + (dev.clockOffsetMs < 0 ? ' behind' : ' ahead'));
      for (const m of dev.metrics) if (!names.has(m.name)) fact(dl, m.name || `metric #${m.nameHash}`, `${num(m.last)}, usual step ± ${num(m.step)}, long-run mean ${num(m.mean)} (${m.samples} samples)`);
      fact(dl, 'open alerts', d.openAlerts.map((a) => a.kind.replace(/_/g, ' ')).join(', ') || 'none');
    }
    $('dev-note').textContent = dev
      ? hist.length ? `Scores since the device was first watched (${hist.length} events).` : 'Scores appear here as the device sends more telemetry.'
      : 'The detector no longer holds this device (evicted or never seen).';
    deviceTimer = setTimeout(() => showDevice(mine), 3000);
  }
  function selectedDevice() {
    const a = selected && alerts.get(selected);
    return a ? a.deviceId : null;
  }

  // ---- loading and the stream ----
  function query(f) {
    const p = new URLSearchParams({ limit: String(MAX_ROWS) });
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
    return p.toString();
  }
  async function reload() {
    const gen = ++generation;
    if (streamAbort) streamAbort.abort();
    try {
      const page = await api(`/api/alerts?${query(filters())}`);
      if (gen !== generation) return;
      alerts.clear();
      order = [];
      for (const a of page.alerts) {
        alerts.set(a.id, a);
        order.push(a.id);
      }
      lastSeq = page.seq;
      queueRender();
      stream(gen);
    } catch (err) {
      if (gen !== generation) return;
      if (err.message !== 'unauthorized') {
        setConn('error', 'offline — retrying');
        setTimeout(() => { if (gen === generation) reload(); }, 3000);
      }
    }
  }

  async function stream(gen) {
    const ctrl = new AbortController();
    streamAbort = ctrl;
    const sev = filters().severity;
    const h = headers({ accept: 'text/event-stream' });
    if (lastSeq !== null) h['last-event-id'] = String(lastSeq);
    try {
      const res = await fetch(`/api/stream${sev ? `?severity=${sev}` : ''}`, { headers: h, signal: ctrl.signal, cache: 'no-store' });
      if (res.status === 401) return needKey();
      if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
      setConn('live', 'live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          onEvent(buf.slice(0, cut));
          buf = buf.slice(cut + 2);
        }
      }
      throw new Error('stream ended');
    } catch (err) {
      if (ctrl.signal.aborted || gen !== generation) return;
      setConn('error', 'reconnecting…');
      setTimeout(() => { if (gen === generation) stream(gen); }, 2000);
    }
  }

  function onEvent(block) {
    let id = null;
    let type = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data += (data ? '\n' : '') + value;
    }
    if (id !== null) lastSeq = Number(id);
    if (!data) return;
    const a = JSON.parse(data);
    upsert(a, true);
  }

  reload();
})();
