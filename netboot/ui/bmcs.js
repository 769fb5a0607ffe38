// BMCs: what Redfish discovery found (address, status, vendor and model,
// MAC, its systems and the nodes they are), and, for an admin token, the
// Discover form (a job followed to its summary) and the credentials
// discovery logs in with (passwords go in, never come back); below them
// the firmware images and update jobs (firmware.js).

import { api, enc, session } from './api.js';
import { h, clear, ago, dateTime, parseTime, toast, field, showFieldError, clearFieldError, fmtInt, plural } from './dom.js';
import { S, on, load } from './state.js';
import { runJob, powerBadge } from './redfish.js';
import { showApiError } from './node.js';
import { firmwareCard } from './firmware.js';

// The last discovery started from this page, kept across visits: it goes
// on when the view is left, and a view shown meanwhile follows it.
let lastJob = null;
let running = false;
const watchers = new Set();
const tell = () => watchers.forEach((fn) => fn());

export function bmcsView(root) {
	let alive = true;
	const listCard = h('section.card#bmc-list', { 'aria-labelledby': 'bmc-list-title' });
	const discCard = session.readOnly ? null : h('section.card#discover', { 'aria-labelledby': 'disc-title' });
	const credCard = session.readOnly ? null : h('section.card#credentials', { 'aria-labelledby': 'cred-title' });
	const fw = firmwareCard();
	clear(
		root,
		h('div.view-head', h('h1', 'BMCs'), h('p.lede', 'Baseboard management controllers found by Redfish discovery. Each system becomes a node (or is linked to the node that owns its MACs); its power and one-time PXE boot are then on the node’s page.')),
		session.readOnly ? h('p.ro-note', 'Read-only: discovery and credentials need an admin token.') : null,
		h('div.bmc-grid', discCard, credCard),
		listCard,
		fw.card,
	);

	// --- the list ------------------------------------------------------------
	function renderList() {
		const now = Date.now();
		const title = h('h2#bmc-list-title', 'Known BMCs ', h('span.muted', `(${fmtInt(S.bmcs.length)})`));
		if (!S.bmcs.length) {
			clear(listCard, title, h('p.muted#bmc-empty', session.readOnly ? 'No BMC discovered yet.' : 'No BMC discovered yet. Start a discovery above.'));
			return;
		}
		const th = (t, cls) => h(cls ? 'th.' + cls : 'th', { scope: 'col' }, t);
		clear(
			listCard,
			title,
			h(
				'div.table-wrap',
				h(
					'table.plain.bmcs',
					{ id: 'bmc-table' },
					h('caption.sr-only', 'BMCs'),
					h('thead', h('tr', th('Address'), th('Status'), th('Vendor · model'), th('MAC'), th('Systems → nodes'), th('Last seen'), session.readOnly ? null : th(h('span.sr-only', 'Actions')))),
					h(
						'tbody',
						S.bmcs.map((b) => {
							const bad = b.status !== 'ok';
							const ls = parseTime(b.last_seen);
							return h(
								'tr',
								{ dataset: { address: b.address, status: b.status || '' }, class: bad ? 'bmc-bad' : '' },
								h('td', h('span.mono', `${b.scheme || 'https'}://${b.address}:${b.port}`), b.insecure ? h('span.chip.warn', { title: 'TLS certificate not verified' }, 'insecure') : null, b.credential ? h('span.sub', 'credential ' + b.credential) : null),
								h('td', h('span.badge.raw', { class: bad ? 'st-stalled' : 'st-ready' }, b.status || 'unknown'), b.message ? h('span.sub.bmc-msg', b.message) : null),
								h('td', [b.vendor, b.model].filter(Boolean).join(' · ') || h('span.muted', '—'), b.firmware ? h('span.sub', 'firmware ' + b.firmware) : null),
								h('td.mono', b.mac || '—'),
								h(
									'td',
									(b.systems || []).length
										? h(
												'ul.sys-list',
												b.systems.map((s) =>
													h(
														'li',
														{ dataset: { node: s.node || '' } },
														s.node ? h('a.node-link', { href: '#/nodes/' + enc(s.node) }, s.node) : h('span.muted', 'no node'),
														' ',
														powerBadge(s.power_state),
														h('span.sub.mono', s.path || ''),
													),
												),
											)
										: h('span.muted', bad ? 'not read' : 'none'),
								),
								h('td', ls !== null ? h('time', { datetime: b.last_seen, title: dateTime(ls) }, ago(ls, now)) : '—'),
								session.readOnly ? null : h('td', forgetCell(b)),
							);
						}),
					),
				),
			),
		);
	}

	// Forget a BMC (its systems go, the nodes stay): asked first, inline.
	let asking = null; // address whose forget is being confirmed
	function forgetCell(b) {
		if (asking !== b.address) return h('button.btn.ghost.small', { type: 'button', dataset: { write: '' }, 'aria-label': `Forget BMC ${b.address}`, onclick: () => ((asking = b.address), renderList(), focusIn(b.address, '.forget-yes')) }, 'Forget…');
		return h(
			'div.confirm.small',
			{ role: 'group', 'aria-label': 'Confirm' },
			h('p', `Forget ${b.address}? Its systems are unlinked; the nodes stay.`),
			h('button.btn.danger.small.forget-yes', { type: 'button', onclick: () => forget(b.address) }, 'Forget'),
			h('button.btn.ghost.small', { type: 'button', onclick: () => ((asking = null), renderList()) }, 'Cancel'),
		);
	}
	function focusIn(address, sel) {
		const el = listCard.querySelector(`tr[data-address="${CSS.escape(address)}"] ${sel}`);
		if (el) el.focus();
	}
	async function forget(address) {
		try {
			await api('DELETE', `/bmcs/${enc(address)}`);
			toast(`Forgot BMC ${address}`);
		} catch (e) {
			toast(e.message, 'error');
		}
		asking = null;
		await load(['bmcs']).catch(() => {});
	}

	// --- discover ------------------------------------------------------------
	let disc = null;
	function renderDiscover() {
		if (!discCard) return;
		if (disc) {
			fillCredentials(disc.f.credential.input);
			return;
		}
		const f = {
			targets: field('Targets', h('input.mono', { type: 'text', id: 'disc-targets', placeholder: '10.0.0.0/24, 10.0.1.5-10.0.1.40, bmc7', autocomplete: 'off', spellcheck: 'false', required: true }), 'CIDRs (/16 to /30), ranges or host names, separated by commas or spaces.'),
			scheme: field('Scheme', h('select', { id: 'disc-scheme' }, h('option', { value: 'https' }, 'https'), h('option', { value: 'http' }, 'http'))),
			port: field('Port', h('input', { type: 'number', id: 'disc-port', min: 1, max: 65535, placeholder: '443', inputmode: 'numeric' })),
			credential: field('Credential', h('select', { id: 'disc-credential' })),
		};
		const insecure = h('input', { type: 'checkbox', id: 'disc-insecure' });
		const formErr = h('p.form-error', { role: 'alert', hidden: true });
		const start = h('button.btn.primary', { type: 'submit', id: 'disc-start' }, 'Discover');
		const form = h(
			'form.form#discover-form',
			{ novalidate: true },
			f.targets.wrap,
			h('div.field-row', f.scheme.wrap, f.port.wrap, f.credential.wrap),
			h('div.field.check', insecure, h('label', { for: 'disc-insecure' }, 'Do not verify TLS certificates (insecure; kept per BMC)')),
			formErr,
			h('div.actions', start),
		);
		const progress = h('div.disc-progress#disc-progress', { role: 'status', 'aria-live': 'polite' });
		f.scheme.input.addEventListener('change', () => (f.port.input.placeholder = f.scheme.input.value === 'http' ? '80' : '443'));
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			for (const x of Object.values(f)) clearFieldError(x);
			formErr.hidden = true;
			const targets = f.targets.input.value.split(/[\s,]+/).filter(Boolean);
			if (!targets.length) {
				showFieldError(f.targets, 'Name at least one address, range or CIDR.');
				f.targets.input.focus();
				return;
			}
			const body = { targets, scheme: f.scheme.input.value, insecure: insecure.checked };
			if (f.port.input.value !== '') {
				const p = Number(f.port.input.value);
				if (!Number.isInteger(p) || p < 1 || p > 65535) {
					showFieldError(f.port, 'A port from 1 to 65535.');
					f.port.input.focus();
					return;
				}
				body.port = p;
			}
			if (!f.credential.input.value) {
				showFieldError(f.credential, 'Add a credential first (below): discovery logs in to read the systems.');
				f.credential.input.focus();
				return;
			}
			body.credential = f.credential.input.value;
			running = true;
			tell();
			try {
				const job = await runJob('/discovery', body, {
					onUpdate: (j) => {
						lastJob = j;
						tell();
					},
				});
				lastJob = job;
				await load(['bmcs', 'nodes', 'groups']).catch(() => {});
				const n = (job.nodes_created || []).length;
				toast(`Discovery done: ${plural(job.found || 0, 'BMC')} found, ${plural(n, 'node')} created`);
			} catch (ex) {
				showApiError(ex, { targets: f.targets, port: f.port, scheme: f.scheme, credential: f.credential }, formErr);
			} finally {
				running = false;
				tell();
			}
		});
		disc = { f, form, progress, start };
		clear(discCard, h('h2#disc-title', 'Discover BMCs'), h('p.muted', 'Probes each address for /redfish/v1/, logs in with the credential and walks its systems. Running it again changes nothing that did not change.'), form, progress);
		fillCredentials(f.credential.input);
		renderProgress();
	}

	function fillCredentials(sel) {
		const cur = sel.value || (S.credentials.some((c) => c.name === 'default') ? 'default' : S.credentials[0] ? S.credentials[0].name : '');
		clear(sel, S.credentials.length ? S.credentials.map((c) => h('option', { value: c.name }, `${c.name} (${c.username})`)) : h('option', { value: '' }, '— no credential yet —'));
		sel.value = S.credentials.some((c) => c.name === cur) ? cur : S.credentials[0] ? S.credentials[0].name : '';
	}

	function renderProgress() {
		if (!disc) return;
		disc.start.disabled = running;
		disc.start.textContent = running ? 'Discovering…' : 'Discover';
		const j = lastJob;
		if (!j) {
			clear(disc.progress);
			return;
		}
		const done = j.state === 'done';
		disc.progress.dataset.state = j.state;
		const created = j.nodes_created || [];
		const updated = j.nodes_updated || [];
		const conflicts = j.conflicts || [];
		const errors = j.errors || [];
		const bmcs = j.bmcs || [];
		clear(
			disc.progress,
			h('h3', done ? 'Last discovery' : 'Discovering…', h('span.muted', ` (job ${j.id})`)),
			h('div.progress-row', h('progress', { id: 'disc-bar', max: Math.max(1, j.targets || 0), value: j.probed || 0, 'aria-label': 'Addresses probed' }), h('span#disc-counts', `${fmtInt(j.probed || 0)} of ${fmtInt(j.targets || 0)} probed · ${plural(j.found || 0, 'BMC')} found`)),
			done
				? h(
						'div.disc-summary#disc-summary',
						h(
							'dl.facts',
							h('div.fact', h('dt', 'Nodes created'), h('dd#disc-created', created.length ? created.map((n) => h('a.chip', { href: '#/nodes/' + enc(n) }, n)) : '0')),
							h('div.fact', h('dt', 'Nodes updated'), h('dd#disc-updated', updated.length ? updated.map((n) => h('a.chip', { href: '#/nodes/' + enc(n) }, n)) : '0')),
							h('div.fact', h('dt', 'Conflicts'), h('dd#disc-conflicts', conflicts.length ? h('ul.plain-list', conflicts.map((c) => h('li', h('span.mono', `${c.bmc || ''} ${c.system || ''}`), ': ', c.message, c.node ? ` (node ${c.node})` : ''))) : '0')),
							h('div.fact', h('dt', 'Errors'), h('dd#disc-errors', errors.length ? h('ul.plain-list', errors.map((x) => h('li', h('span.mono', x.address || ''), ': ', x.message))) : '0')),
						),
						bmcs.length
							? h(
									'ul.plain-list.disc-bmcs',
									bmcs.map((b) => h('li', { dataset: { address: b.address } }, h('span.mono', `${b.address}:${b.port}`), ' ', h('span.badge.raw', { class: b.status === 'ok' ? 'st-ready' : 'st-stalled' }, b.status), ` ${plural(b.systems || 0, 'system')}`, b.message ? h('span.bmc-msg', ' — ' + b.message) : null)),
								)
							: h('p.muted', 'No Redfish service answered at these addresses.'),
					)
				: null,
		);
	}

	// --- credentials ---------------------------------------------------------
	let cred = null;
	function renderCredentials() {
		if (!credCard) return;
		const list = S.credentials.length
			? h(
					'table.plain#cred-table',
					h('caption.sr-only', 'Credentials'),
					h('thead', h('tr', h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'User name'), h('th', { scope: 'col' }, 'Changed'), h('th', { scope: 'col' }, h('span.sr-only', 'Actions')))),
					h(
						'tbody',
						S.credentials.map((c) =>
							h(
								'tr',
								{ dataset: { name: c.name } },
								h('td.mono', c.name),
								h('td', c.username),
								h('td', c.updated ? h('time', { datetime: c.updated, title: dateTime(parseTime(c.updated)) }, ago(parseTime(c.updated))) : '—'),
								h('td', h('button.btn.ghost.small', { type: 'button', 'aria-label': `Delete credential ${c.name}`, dataset: { write: '' }, onclick: () => removeCred(c.name) }, 'Delete')),
							),
						),
					),
				)
			: h('p.muted', 'No credential yet. Discovery needs one to read the systems.');
		if (!cred) {
			const f = {
				name: field('Name', h('input', { type: 'text', id: 'cred-name', value: S.credentials.length ? '' : 'default', autocomplete: 'off', spellcheck: 'false' }), 'Discovery uses “default” unless told otherwise. Saving an existing name replaces it.'),
				username: field('User name', h('input', { type: 'text', id: 'cred-user', autocomplete: 'off', spellcheck: 'false' })),
				password: field('Password', h('input', { type: 'password', id: 'cred-pass', autocomplete: 'new-password' }), 'Sealed on the server; never shown again, not even here.'),
			};
			const formErr = h('p.form-error', { role: 'alert', hidden: true });
			const save = h('button.btn.primary', { type: 'submit', id: 'cred-save' }, 'Save credential');
			const form = h('form.form#cred-form', { novalidate: true }, f.name.wrap, f.username.wrap, f.password.wrap, formErr, h('div.actions', save));
			form.addEventListener('submit', async (e) => {
				e.preventDefault();
				for (const x of Object.values(f)) clearFieldError(x);
				formErr.hidden = true;
				const body = { name: f.name.input.value.trim(), username: f.username.input.value.trim(), password: f.password.input.value };
				if (!body.name) return showFieldError(f.name, 'A name.'), f.name.input.focus();
				if (!body.username) return showFieldError(f.username, 'A user name.'), f.username.input.focus();
				save.disabled = true;
				try {
					const r = await api('POST', '/credentials', body);
					f.password.input.value = '';
					toast(`Saved credential ${r.name}`);
					await load(['credentials']);
				} catch (ex) {
					showApiError(ex, f, formErr);
				} finally {
					save.disabled = false;
				}
			});
			cred = { form, listBox: h('div.cred-list') };
			clear(credCard, h('h2#cred-title', 'Credentials'), cred.listBox, h('h3', 'Add or replace'), form);
		}
		clear(cred.listBox, list);
	}

	async function removeCred(name) {
		try {
			await api('DELETE', `/credentials/${enc(name)}`);
			toast(`Deleted credential ${name}`);
			await load(['credentials']);
		} catch (e) {
			toast(e.status === 409 ? `${name} is in use by a BMC: ${e.message}` : e.message, 'error');
		}
	}

	renderList();
	renderDiscover();
	renderCredentials();
	fw.refresh();
	// Fresh lists on entry: another client may have discovered meanwhile.
	load(session.readOnly ? ['bmcs'] : ['bmcs', 'credentials']).catch(() => {});
	const follow = () => alive && renderProgress();
	watchers.add(follow);
	const offs = [
		() => watchers.delete(follow),
		on('bmcs', () => {
			renderList();
			fw.refresh(); // a job that ended reloads the BMCs (app.js): firmware jobs too
		}),
		on('credentials', () => {
			renderCredentials();
			renderDiscover();
		}),
	];
	return {
		leave() {
			alive = false;
			offs.forEach((o) => o());
		},
	};
}
