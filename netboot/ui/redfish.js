// Redfish from the page: running a job (power, PXE boot, discovery) and
// following it until corrald says it is done, and the power / PXE-once
// controls shared by a node's page and the nodes table's selection.

import { api, get, session } from './api.js';
import { h, clear, sleep, plural, fmtInt } from './dom.js';
import { load } from './state.js';

const POLL_MS = 400;
const GIVE_UP_MS = 15 * 60 * 1000;

// POST path body (→ 202 with the job), then GET /jobs/{id} until its state
// is "done".  onUpdate(job) sees every answer; isAlive() false stops
// following (the view was left).  Resolves to the last job seen.
export async function runJob(path, body, { onUpdate = () => {}, isAlive = () => true } = {}) {
	let job = await api('POST', path, body);
	onUpdate(job);
	const t0 = Date.now();
	while (job.state !== 'done' && isAlive()) {
		if (Date.now() - t0 > GIVE_UP_MS) throw new Error(`job ${job.id} still running after ${GIVE_UP_MS / 60000} min; see GET /api/v1/jobs/${job.id}`);
		await sleep(POLL_MS);
		job = await get(`/jobs/${job.id}`);
		onUpdate(job);
	}
	return job;
}

// "On", "Off", "PoweringOn", null
export function powerBadge(state) {
	const s = state || 'unknown';
	const kind = /^on$/i.test(s) ? 'on' : /^off$/i.test(s) ? 'off' : /^powering/i.test(s) ? 'changing' : 'unknown';
	return h('span.pw', { class: 'pw-' + kind, dataset: { power: s } }, state || 'unknown');
}

// The actions offered; confirm: the question asked before a disruptive one.
const ACTIONS = [
	{ id: 'on', label: 'Power on', path: '/power', body: { action: 'on' } },
	{ id: 'off', label: 'Power off…', path: '/power', body: { action: 'off' }, confirm: (w) => [`Power off ${w} now?`, 'Forced (ForceOff): the OS is not shut down first.', 'Power off'] },
	{ id: 'reset', label: 'Reset…', path: '/power', body: { action: 'reset' }, confirm: (w) => [`Reset ${w} now?`, 'A forced restart: whatever runs there stops at once.', 'Reset'] },
	{ id: 'status', label: 'Read power state', path: '/power', body: { action: 'status' }, ghost: true },
	{ id: 'pxe', label: 'PXE once', path: '/boot', body: { once: true, reset: false }, title: 'The next boot (only) goes to the network; nothing restarts now.' },
	{
		id: 'pxe-reset',
		label: 'PXE once and reset…',
		path: '/boot',
		body: { once: true, reset: true },
		confirm: (w) => [`PXE boot ${w} now?`, 'Sets a one-time network boot, then powers on (or restarts if it is on).', 'PXE once and reset'],
	},
];

const DONE_TEXT = { on: 'Power on', off: 'Power off', reset: 'Reset', cycle: 'Power cycle', status: 'Power state' };

// Buttons for the nodes names() returns at the moment one is pressed, an
// inline confirmation for the disruptive ones, and the job's result per
// node.  prefix makes the ids unique on the page ("pw", "bulk").
// onDone(job) runs after a job finished (and BMCs were reloaded).
export function powerControls({ prefix, names, isAlive = () => true, onDone = () => {} }) {
	let busy = false;
	const buttons = ACTIONS.map((a) =>
		h(
			a.ghost ? 'button.btn.ghost' : a.id === 'pxe' || a.id === 'pxe-reset' ? 'button.btn.pxe' : 'button.btn',
			{ type: 'button', id: `${prefix}-${a.id}`, title: a.title || null, dataset: { write: '', action: a.id }, onclick: () => press(a) },
			a.label,
		),
	);
	const bar = h('div.actions.power-actions', { role: 'group', 'aria-label': 'Power and boot' }, buttons);
	const ask = h('div.confirm', { hidden: true, role: 'group', 'aria-label': 'Confirm' });
	const result = h('div.job-result', { id: `${prefix}-result`, role: 'status', 'aria-live': 'polite' });
	const el = h('div.power-controls', bar, ask, result);

	function who() {
		const n = names();
		return n.length === 1 ? n[0] : plural(n.length, 'node');
	}

	function setBusy(b) {
		busy = b;
		for (const x of buttons) x.disabled = b;
	}

	function press(a) {
		if (busy) return;
		if (!names().length) return;
		if (!a.confirm) return run(a);
		const [q, note, yes] = a.confirm(who());
		const go = h('button.btn.danger', { type: 'button', id: `${prefix}-confirm`, onclick: () => ((ask.hidden = true), run(a)) }, yes);
		clear(ask, h('p', h('strong', q), ' ', note), go, h('button.btn.ghost', { type: 'button', id: `${prefix}-cancel`, onclick: () => ((ask.hidden = true), buttons.find((b) => b.dataset.action === a.id).focus()) }, 'Cancel'));
		ask.hidden = false;
		go.focus();
	}

	async function run(a) {
		const targets = names();
		setBusy(true);
		result.dataset.state = 'running';
		clear(result, h('p.job-line', h('span.spinner', { 'aria-hidden': 'true' }), `${a.label.replace('…', '')}: asking ${who()}'s BMC…`));
		try {
			const job = await runJob(a.path, { targets, ...a.body }, {
				isAlive,
				onUpdate: (j) => j.state !== 'done' && showJob(j, a, targets),
			});
			if (!isAlive()) return;
			showJob(job, a, targets);
			await load(['bmcs']).catch(() => {});
			onDone(job);
		} catch (e) {
			if (!isAlive()) return;
			result.dataset.state = 'failed';
			clear(result, h('p.form-error', e.message));
		} finally {
			setBusy(false);
		}
	}

	function showJob(job, a, targets) {
		const nodes = job.nodes || [];
		const done = job.state === 'done';
		const bad = nodes.filter((n) => !n.ok).length;
		result.dataset.state = !done ? 'running' : bad ? 'failed' : 'ok';
		result.dataset.job = job.id;
		const what = a.path === '/boot' ? (a.body.reset ? 'PXE once and reset' : 'PXE once') : DONE_TEXT[a.body.action];
		const head = done
			? h('p.job-line', h('strong', what), bad ? ` — ${fmtInt(nodes.length - bad)} ok, ${fmtInt(bad)} failed` : ` — ok${nodes.length > 1 ? ` (${plural(nodes.length, 'node')})` : ''}`)
			: h('p.job-line', h('span.spinner', { 'aria-hidden': 'true' }), `${what}: ${fmtInt(nodes.length)} of ${plural(targets.length, 'node')} answered…`);
		// Failures first: in a job over many nodes they are what to read.
		const order = [...nodes].sort((x, y) => Number(!!x.ok) - Number(!!y.ok) || String(x.node).localeCompare(String(y.node), 'en', { numeric: true }));
		clear(result, head, nodes.length ? h('ul.job-nodes', order.map(nodeLine)) : null);
	}

	return { el, isBusy: () => busy };
}

// One node's result: ok or the message, the reset type sent, the power
// state read back, the boot override read back.
export function nodeLine(n) {
	return h(
		'li.job-node',
		{ dataset: { node: n.node, ok: String(!!n.ok) } },
		h('a.mono', { href: '#/nodes/' + encodeURIComponent(n.node) }, n.node),
		h('span.badge', { class: n.ok ? 'st-ready' : 'st-stalled' }, n.ok ? 'ok' : 'failed'),
		n.message ? h('span.job-msg', n.message) : null,
		n.reset_type ? h('span.muted', `sent ${n.reset_type}`) : null,
		n.boot_override ? h('span.muted', `boot override ${n.boot_override.target} (${n.boot_override.enabled || '?'})`) : null,
		n.power_state ? h('span.job-power', 'power ', powerBadge(n.power_state)) : null,
	);
}

// Whether this page may drive power at all.
export const canPower = () => !session.readOnly;
