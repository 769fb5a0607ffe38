// A node's boot timeline: events split into boot attempts, each attempt
// judged (ready, booting, stuck, retried), and drawn as a track of stages
// with the gaps between them.

import { h, clock, dateTime, duration, parseTime } from './dom.js';
import { STEPS, stageStep, STUCK_MS } from './state.js';

const NEW_BOOT_GAP = 30 * 60 * 1000;

// An event's place on the boot path; an OS DHCP lease (the booted kernel
// asking for its address) sits between initrd and cloud-init.
function step(ev) {
	if (ev.stage === 'dhcp' && /^OS/.test(ev.detail || '')) return 3.5;
	return stageStep(ev.stage);
}

// Oldest-first events -> boot attempts (oldest first).  A new attempt
// starts when an early stage (DHCP, TFTP, boot script) follows a later
// one, when PXE or HTTP-boot firmware asks again after a boot script, or
// after a long silence.
export function splitBoots(events) {
	const boots = [];
	let cur = null;
	let prev = null;
	for (const raw of events) {
		const ev = { ...raw, t: parseTime(raw.time) };
		let fresh = cur === null;
		if (prev) {
			const early = step(ev) <= 1;
			if (early && step(prev) >= 2) fresh = true;
			if (ev.stage === 'dhcp' && /^(PXE|HTTP boot)/.test(ev.detail || '') && prev.stage === 'bootscript') fresh = true;
			if (ev.t - prev.t > NEW_BOOT_GAP) fresh = true;
		}
		if (fresh) {
			cur = { events: [] };
			boots.push(cur);
		}
		cur.events.push(ev);
		prev = ev;
	}
	return boots;
}

// bootscript details that mean the node is not going anywhere.
const BLOCKED = [
	[/^disabled/, 'node disabled: the script exits to the next boot device'],
	[/^no boot profile/, 'no boot profile on the node, its groups or the defaults'],
	[/^unknown/, 'machine not registered'],
];

// A rootfs event the node reported (POST /boot/v1/report): it stopped
// before mounting the image.  A download's detail is a file path.
const ROOTFS_REFUSED = /^(sha256 mismatch|no root image|refused)/;

// One attempt judged at time now: {items, outcome, summary, start, end}.
// items are stops (one event, or same-stage events close together) with
// .mark 'warn' (a retry, a slow gap) or 'bad' (blocked, or where it stuck).
export function analyse(boot, now = Date.now()) {
	const evs = boot.events;
	const items = [];
	for (const ev of evs) {
		const last = items[items.length - 1];
		const retry = ev.stage === 'bootscript' && /\bretry (\d+)/.exec(ev.detail || '');
		const blocked =
			(ev.stage === 'bootscript' && BLOCKED.find(([re]) => re.test(ev.detail || ''))) ||
			// dnsmasq ignored or refused the request: the detail says why
			(ev.stage === 'dhcp' && /^(not answered|refused):/.test(ev.detail || '') && [null, ev.detail]) ||
			// the node's initramfs refused the root image (its own report)
			(ev.stage === 'rootfs' && ROOTFS_REFUSED.test(ev.detail || '') && [null, ev.detail]);
		if (last && !retry && !blocked && ev.stage !== 'bootscript' && last.stage === ev.stage && ev.t - last.end < 3000) {
			last.events.push(ev);
			last.end = ev.t;
			continue;
		}
		const item = { stage: ev.stage, start: ev.t, end: ev.t, events: [ev], mark: '', note: '' };
		if (retry) {
			item.mark = 'warn';
			item.note = `retry ${retry[1]}: an earlier step failed`;
		}
		if (blocked) {
			item.mark = 'bad';
			item.note = blocked[1];
		}
		item.gap = last ? ev.t - last.end : null;
		item.slow = last && item.gap > STUCK_MS && last.stage !== 'phone-home';
		items.push(item);
	}
	const first = evs[0];
	const lastEv = evs[evs.length - 1];
	const res = { items, start: first.t, end: lastEv.t, outcome: 'booting', summary: '', stuckFor: 0 };
	const retries = items.filter((i) => i.mark === 'warn').length;
	const retryText = retries ? ` after ${retries === 1 ? '1 retry' : retries + ' retries'}` : '';
	if (lastEv.stage === 'phone-home') {
		res.outcome = retries ? 'warn' : 'ready';
		res.summary = `Ready in ${duration(lastEv.t - first.t)}${retryText}`;
	} else if (items[items.length - 1].mark === 'bad') {
		const last = items[items.length - 1];
		res.outcome = 'bad';
		const where = { dhcp: 'DHCP', rootfs: 'the root image' }[last.stage] || 'the boot script';
		res.summary = `Blocked at ${where}: ${last.note}`;
	} else if (now - lastEv.t > STUCK_MS) {
		res.outcome = 'stuck';
		res.stuckFor = now - lastEv.t;
		res.summary = `Stuck: no progress for ${duration(now - lastEv.t)} after ${lastEv.stage}${retryText}`;
		items[items.length - 1].mark = 'bad';
		items[items.length - 1].note = 'last step before it stopped';
	} else {
		res.summary = `Booting: at ${lastEv.stage} for ${duration(Math.max(0, now - lastEv.t))}${retryText}`;
	}
	return res;
}

// Stage label as the page says it.
function stageName(stage) {
	return stage === 'phone-home' ? 'phone-home' : stage === 'bootscript' ? 'boot script' : stage;
}

function itemDetail(it) {
	const d = it.events.map((e) => e.detail).filter(Boolean);
	if (it.events.length > 1) return d.join(', ');
	return d[0] || '';
}

// The gap's share of the track: logarithmic, so 0.2 s and 5 min both fit.
function gapWeight(ms) {
	return 1 + Math.log10(1 + ms / 100);
}

// Draws one analysed attempt into a new element.
export function renderBoot(a, now = Date.now()) {
	const track = h('ol.tl-track', { 'aria-label': 'Boot stages in order' });
	a.items.forEach((it, i) => {
		if (i > 0) {
			const gapText = '+' + duration(it.gap);
			const gap = h('li.tl-gap', { class: it.slow ? 'slow' : '', 'aria-label': `then ${gapText}` }, h('span.tl-gap-label', gapText));
			gap.style.flexGrow = String(gapWeight(it.gap));
			track.appendChild(gap);
		}
		const s = stageStep(it.stage);
		const stop = h(
			'li.tl-stop',
			{ class: [`step-${s < 0 ? 'x' : s}`, it.mark].filter(Boolean).join(' '), dataset: { stage: it.stage } },
			h('span.tl-dot', { 'aria-hidden': 'true' }),
			h('span.tl-stage', stageName(it.stage) + (it.events.length > 1 ? ` ×${it.events.length}` : '')),
			h('time.tl-time', { datetime: new Date(it.start).toISOString(), title: dateTime(it.start) }, clock(it.start, true)),
			h('span.tl-detail', { title: itemDetail(it) }, itemDetail(it)),
			it.note ? h('span.tl-note', it.note) : null,
		);
		track.appendChild(stop);
	});
	if (a.outcome === 'stuck' || a.outcome === 'booting') {
		const wait = Math.max(0, now - a.end);
		const tail = h('li.tl-gap.tail', { class: a.outcome === 'stuck' ? 'slow' : 'open' }, h('span.tl-gap-label', (a.outcome === 'stuck' ? 'no progress ' : 'waiting ') + duration(wait)));
		tail.style.flexGrow = String(gapWeight(wait));
		track.appendChild(tail);
		track.appendChild(
			h(
				'li.tl-stop.pending',
				{ class: a.outcome === 'stuck' ? 'bad' : '' },
				h('span.tl-dot', { 'aria-hidden': 'true' }),
				h('span.tl-stage', a.outcome === 'stuck' ? 'stuck' : 'next'),
				h('span.tl-detail', a.outcome === 'stuck' ? 'expected: ' + nextStage(a) : nextStage(a)),
			),
		);
	}
	return track;
}

function nextStage(a) {
	const last = a.items[a.items.length - 1];
	const s = Math.floor(stageStep(last.stage));
	return STEPS[Math.min(s + 1, STEPS.length - 1)];
}

// The table under the track: every event exactly.
export function renderEvents(boot) {
	const rows = boot.events.map((ev, i) => {
		const prev = boot.events[i - 1];
		const retry = ev.stage === 'bootscript' && /\bretry \d+/.test(ev.detail || '');
		return h(
			'tr',
			{ class: retry ? 'warn' : '' },
			h('td.mono', h('time', { datetime: ev.time, title: dateTime(ev.t) }, clock(ev.t, true))),
			h('td.num.mono', prev ? '+' + duration(ev.t - prev.t) : ''),
			h('td', h('span.stage-tag', { class: `step-${stageStep(ev.stage)}` }, ev.stage)),
			h('td', ev.detail || ''),
			h('td.mono', ev.source || ''),
		);
	});
	return h(
		'table.events',
		h('caption.sr-only', 'Boot events of this attempt, oldest first'),
		h('thead', h('tr', h('th', { scope: 'col' }, 'time'), h('th.num', { scope: 'col' }, 'after'), h('th', { scope: 'col' }, 'stage'), h('th', { scope: 'col' }, 'detail'), h('th', { scope: 'col' }, 'source'))),
		h('tbody', rows),
	);
}

// The six-step pipeline of a node's last stage, for rows and headers.
export function pipeline(stage, status, opts = {}) {
	const s = stage ? stageStep(stage) : -1;
	const el = h('span.pipe', { class: 'st-' + status, role: 'img', 'aria-label': stage ? `at ${stage} (${STEPS[s] || stage})` : 'no boot yet' });
	STEPS.forEach((name, i) => {
		const seg = h('span.pipe-step', { class: i < s ? 'done' : i === s ? 'here' : '' });
		if (opts.labels) seg.appendChild(h('span.pipe-label', name));
		el.appendChild(seg);
	});
	return el;
}

