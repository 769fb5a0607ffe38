// One node: its boot timeline, the exact iPXE script and the cloud-init
// data it gets, its interfaces, its BMC and power (when Redfish discovery
// linked one), and (for an admin token) its boot configuration.

import { api, get, enc, session } from './api.js';
import { h, clear, ago, dateTime, debounce, toast, field, showFieldError, clearFieldError } from './dom.js';
import { S, on, putNode, nodeStatus, effective, profileImage } from './state.js';
import { splitBoots, analyse, renderBoot, renderEvents, pipeline, eventCount } from './timeline.js';
import { profileChoice, ensureProfile } from './config.js';
import { powerControls, powerBadge } from './redfish.js';

// "All 45 events of this attempt (9 rows: …)": coalesced rows count all their events.
function eventsSummary(events) {
	const n = eventCount(events);
	return `All ${n} events of this attempt` + (n > events.length ? ` (${events.length} ${events.length === 1 ? 'row' : 'rows'}: repeats are counted in one)` : '');
}

const CI_FILES = ['meta-data', 'user-data', 'vendor-data'];
let ciTab = 'meta-data'; // the cloud-init tab last picked, kept across nodes

export function nodeView(root, { name }) {
	let node = null;
	let events = [];
	let script = '';
	let chosen = null; // index of the boot attempt the user picked; null: latest
	let alive = true;

	const crumb = h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/nodes' }, 'Nodes'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', { 'aria-current': 'page' }, name));
	const head = h('div.node-head');
	const tlCard = h('section.card.span-2#timeline', { 'aria-labelledby': 'tl-title' });
	const scriptCard = h('section.card#ipxe', { 'aria-labelledby': 'ipxe-title' });
	const ciCard = h('section.card#cloudinit', { 'aria-labelledby': 'ci-title' });
	const ifCard = h('section.card#interfaces', { 'aria-labelledby': 'if-title' });
	const cfgCard = h('section.card#bootcfg', { 'aria-labelledby': 'cfg-title' });
	// Power: shown only when a BMC's system is linked to this node.
	const powerCard = h('section.card#power', { hidden: true, dataset: { hook: 'redfish' }, 'aria-labelledby': 'power-title' });
	const powerFacts = h('div.power-facts');
	const controls = session.readOnly ? null : powerControls({ prefix: 'pw', names: () => [name], isAlive: () => alive });
	const grid = h('div.node-grid', tlCard, powerCard, scriptCard, ciCard, ifCard, cfgCard);
	let ci = null; // {'meta-data': text, …} as the node gets them; null until loaded
	clear(root, crumb, head, h('p.loading', 'Loading…'));

	async function loadAll() {
		try {
			const [n, ev, sc, c] = await Promise.all([get(`/nodes/${enc(name)}`), get(`/nodes/${enc(name)}/events`), get(`/nodes/${enc(name)}/bootscript`), loadCloudInit()]);
			if (!alive) return;
			node = n;
			events = ev;
			script = sc;
			ci = c;
			clear(root, crumb, head, grid);
			renderHead();
			renderTimeline();
			renderPower();
			renderScript();
			renderCloudInit();
			renderInterfaces();
			renderConfig();
		} catch (e) {
			if (!alive) return;
			clear(root, crumb, h('div.card.error-card', h('h1', name), h('p', e.status === 404 ? 'There is no node with this name.' : e.message)));
		}
	}

	// --- header --------------------------------------------------------------
	let confirmToggle = false;
	function renderHead() {
		const now = Date.now();
		const n = S.byName.get(name) || node;
		const st = nodeStatus({ ...node, _t: n._t ?? (node.last_event ? Date.parse(node.last_event.time) : null) }, now);
		const eff = parseScriptProfile(script) || effective(node);
		const le = node.last_event;
		// its profile has no image for its architecture: why it waits (serve.c)
		const noImage = /^# Corral: (no image for \S+ in profile \S+)/m.exec(script || '');
		const facts = h(
			'dl.facts',
			fact('Arch', [node.arch, h('span.sub#arch-source', ARCH_SOURCE[node.arch_source] || '')]),
			fact('Role', node.role || '—'),
			fact('NID', node.nid ?? '—'),
			fact('Groups', (node.groups || []).length ? node.groups.map((g) => h('a.chip', { href: '#/config/groups/' + enc(g) }, g)) : '—'),
			fact('Profile', eff.profile ? [eff.profile, h('span.sub', eff.sourceText || sourceText(eff))] : h('span.warn-text', 'none: the node waits')),
			fact('Image', noImage ? h('span.warn-text#no-image', `${noImage[1]}: the node waits`) : eff.image || (eff.profile && profileImage(eff.profile)) || '—'),
			fact('Last event', le ? [h('time', { datetime: le.time, title: dateTime(Date.parse(le.time)) }, ago(Date.parse(le.time), now)), h('span.sub', le.stage)] : 'never'),
		);
		const actions = h('div.actions');
		if (!session.readOnly) {
			if (!confirmToggle) {
				actions.appendChild(
					h('button.btn', { type: 'button', id: 'toggle-enabled', onclick: () => ((confirmToggle = true), renderHead(), document.getElementById('confirm-toggle').focus()) }, node.enabled ? 'Disable node…' : 'Enable node…'),
				);
			} else {
				actions.appendChild(
					h(
						'div.confirm',
						{ role: 'group', 'aria-label': 'Confirm' },
						h('p', node.enabled ? `Disable ${name}? Touches this node only: at its next boot its script exits to the next boot device, and Corral's DHCP stops answering it.` : `Enable ${name}? Touches this node only: it boots from Corral at its next boot.`),
						h('button.btn.primary', { type: 'button', id: 'confirm-toggle', onclick: () => save({ enabled: !node.enabled }, null).then(() => ((confirmToggle = false), renderHead())) }, node.enabled ? 'Disable' : 'Enable'),
						h('button.btn.ghost', { type: 'button', onclick: () => ((confirmToggle = false), renderHead()) }, 'Cancel'),
					),
				);
			}
		}
		clear(
			head,
			h('div.node-title', h('h1', name), h('span.badge.big', { class: 'st-' + st }, st), pipeline(le && le.stage, st, { labels: true })),
			actions,
			facts,
		);
	}
	const fact = (k, v) => h('div.fact', h('dt', k), h('dd', v));

	// --- timeline ------------------------------------------------------------
	function renderTimeline() {
		const boots = splitBoots(events);
		const now = Date.now();
		const title = h('h2#tl-title', 'Boot timeline');
		if (!boots.length) {
			clear(tlCard, title, h('p.muted.empty-tl', 'No boot events yet. They appear here live as the node asks for its boot script, kernel, initrd and cloud-init data.'));
			return;
		}
		const idx = chosen === null || chosen >= boots.length ? boots.length - 1 : chosen;
		const a = analyse(boots[idx], now);
		const picker = h(
			'select#boot-pick',
			{
				onchange: (e) => {
					const v = Number(e.target.value);
					chosen = v === boots.length - 1 ? null : v;
					renderTimeline();
				},
			},
			boots
				.map((b, i) => {
					const x = analyse(b, now);
					return h('option', { value: i, selected: i === idx }, `${i === boots.length - 1 ? 'Latest: ' : ''}${dateTime(x.start)} — ${x.summary}`);
				})
				.reverse(),
		);
		clear(
			tlCard,
			h('div.card-head', title, boots.length > 1 ? h('div.tool', h('label', { for: 'boot-pick' }, 'Boot attempt'), picker) : null),
			h('p.tl-summary', { class: 'o-' + a.outcome, id: 'tl-summary', role: 'status' }, h('strong', a.summary), h('span.muted', ` · started ${dateTime(a.start)}`)),
			h('div.tl-scroll', renderBoot(a, now)),
			h('details.tl-events', h('summary', eventsSummary(boots[idx].events)), renderEvents(boots[idx])),
		);
	}

	// --- iPXE script ---------------------------------------------------------
	function renderScript() {
		const copy = h('button.btn.ghost.small', { type: 'button', onclick: () => copyText(script, copy) }, 'Copy');
		clear(
			scriptCard,
			h('div.card-head', h('h2#ipxe-title', 'iPXE script'), copy),
			h('p.muted', 'Exactly what this node gets from ', h('code', '/boot/v1/bootscript'), ' now.'),
			h('pre.code.ipxe', { tabindex: '0', 'aria-label': 'iPXE script' }, highlightIpxe(script)),
		);
	}

	// --- cloud-init ----------------------------------------------------------
	// The three NoCloud files exactly as corrald serves them to the node
	// (merged), from the preview route, which records no boot event.
	async function loadCloudInit() {
		const out = {};
		await Promise.all(
			CI_FILES.map(async (f) => {
				try {
					out[f] = await get(`/nodes/${enc(name)}/cloud-init/${f}`);
				} catch (e) {
					out[f] = { error: e.message };
				}
			}),
		);
		return out;
	}

	function renderCloudInit() {
		const seed = /ds=nocloud-net;s=(\S+)/.exec(script);
		const tabs = CI_FILES.map((f) =>
			h(
				'button.tab',
				{ type: 'button', role: 'tab', id: 'ci-tab-' + f, 'aria-selected': String(f === ciTab), 'aria-controls': 'ci-panel', tabindex: f === ciTab ? '0' : '-1', dataset: { file: f }, onclick: () => pick(f, false) },
				f,
			),
		);
		const list = h('div.tabs', { role: 'tablist', 'aria-label': 'cloud-init files' }, tabs);
		list.addEventListener('keydown', (e) => {
			const k = CI_FILES.indexOf(ciTab);
			const to = e.key === 'ArrowRight' ? (k + 1) % 3 : e.key === 'ArrowLeft' ? (k + 2) % 3 : e.key === 'Home' ? 0 : e.key === 'End' ? 2 : -1;
			if (to < 0) return;
			e.preventDefault();
			pick(CI_FILES[to], true);
		});
		const body = ci && ci[ciTab];
		const text = typeof body === 'string' ? body : null;
		const copy = h('button.btn.ghost.small', { type: 'button', id: 'ci-copy', disabled: text === null, onclick: () => copyText(text, copy) }, 'Copy');
		const panel = h(
			'div.tab-panel',
			{ role: 'tabpanel', id: 'ci-panel', 'aria-labelledby': 'ci-tab-' + ciTab, dataset: { file: ciTab } },
			text !== null
				? h('pre.code', { tabindex: '0', 'aria-label': ciTab }, text || h('span.muted', '(empty)'))
				: h('p.form-error', body ? body.error : 'Not loaded.'),
		);
		clear(
			ciCard,
			h('div.card-head', h('h2#ci-title', 'cloud-init data'), copy),
			h('p.muted', 'Exactly what this node gets now, merged (defaults, then its groups in order, then the node). Looking here records no boot event.'),
			seed ? h('p.muted', 'Seed: ', h('code.break', seed[1])) : h('p.muted', 'The node gets no seed URL until it has a boot profile.'),
			list,
			panel,
		);
		function pick(f, focus) {
			ciTab = f;
			renderCloudInit();
			if (focus) document.getElementById('ci-tab-' + f).focus();
		}
	}

	// --- power (Redfish) -----------------------------------------------------
	function renderPower() {
		const link = S.sysByNode.get(name);
		powerCard.hidden = !link;
		if (!link) return;
		const { bmc, sys } = link;
		const port = bmc.port && bmc.port !== (bmc.scheme === 'http' ? 80 : 443) ? ':' + bmc.port : '';
		clear(
			powerFacts,
			h(
				'dl.facts.stack',
				fact('BMC', [h('a.mono', { href: '#/bmcs', id: 'pw-bmc' }, `${bmc.scheme || 'https'}://${bmc.address}${port}`), [bmc.vendor, bmc.model].filter(Boolean).length ? h('span.sub', [bmc.vendor, bmc.model].filter(Boolean).join(' · ')) : null]),
				fact('BMC status', [h('span.badge.raw', { class: bmc.status === 'ok' ? 'st-ready' : 'st-stalled', id: 'pw-bmc-status' }, bmc.status || 'unknown'), bmc.message ? h('span.sub', bmc.message) : null]),
				fact('Power', [
					h('span#pw-state', powerBadge(sys.power_state)),
					// A state read long ago may no longer hold: say when it was read.
					sys.power_checked ? h('span.sub#pw-checked', 'read ', h('time', { datetime: sys.power_checked, title: dateTime(Date.parse(sys.power_checked)) }, ago(Date.parse(sys.power_checked), Date.now()))) : null,
				]),
				fact('System', h('span.mono', sys.path || '—')),
			),
		);
		// Built once: a running job's result and the focus stay put.
		if (!powerCard.firstChild) clear(powerCard, h('h2#power-title', 'Power'), powerFacts, controls ? controls.el : h('p.ro-note', 'Read-only: this token can see the power state but not change it.'));
	}

	// --- interfaces ----------------------------------------------------------
	function renderInterfaces() {
		const ifs = node.interfaces || [];
		clear(
			ifCard,
			h('h2#if-title', 'Interfaces'),
			ifs.length
				? h(
						'table.plain',
						h('thead', h('tr', h('th', { scope: 'col' }, 'MAC'), h('th', { scope: 'col' }, 'IP'), h('th', { scope: 'col' }, ''))),
						h('tbody', ifs.map((i, k) => h('tr', h('td.mono', i.mac), h('td.mono', i.ip || '—'), h('td', k === 0 ? h('span.chip.accent', 'boot') : '')))),
					)
				: h('p.muted', 'No interfaces.'),
			h('p.hint', `First-stage iPXE for UEFI: ${node.ipxe_efi || 'snponly.efi'}`),
		);
	}

	// --- boot configuration --------------------------------------------------
	let form = null;
	function renderConfig() {
		if (session.readOnly) {
			form = null;
			clear(
				cfgCard,
				h('h2#cfg-title', 'Boot configuration'),
				h('p.ro-note', 'Read-only: this token can see the configuration but not change it.'),
				h(
					'dl.facts.stack',
					fact('Enabled', node.enabled ? 'yes' : 'no'),
					fact('Own profile', node.profile || '— (from groups or defaults)'),
					fact('Groups', (node.groups || []).join(', ') || '—'),
					fact('Kernel parameters', node.params ? h('code', node.params) : '—'),
					fact('metadata', h('code', JSON.stringify(node.metadata || {}))),
				),
				node.user_data ? h('pre.code', node.user_data) : null,
			);
			return;
		}
		const f = {
			profile: field('Boot profile or image', profileChoice(node.profile, 'cfg-profile'), 'Overrides the groups’ and the defaults’ profile. Picking an image makes a profile of the same name for it.'),
			groups: field('Groups', h('input', { type: 'text', id: 'cfg-groups', value: (node.groups || []).join(', '), autocomplete: 'off', spellcheck: 'false' }), 'Comma-separated, in order: the first group with a profile gives the boot profile. Missing groups are created.'),
			params: field('Kernel parameters', h('input.mono', { type: 'text', id: 'cfg-params', value: node.params || '', autocomplete: 'off', spellcheck: 'false' }), 'Appended after the image’s and the profile’s.'),
			user_data: field('user-data', h('textarea.mono', { id: 'cfg-user-data', rows: 6, spellcheck: 'false' }, node.user_data || ''), 'cloud-init user-data (YAML; #cloud-config merges with the groups’).'),
			metadata: field('metadata (JSON object)', h('textarea.mono', { id: 'cfg-metadata', rows: 3, spellcheck: 'false' }, JSON.stringify(node.metadata || {}, null, 2)), null),
		};
		const touches = h('p.touches', { id: 'cfg-touches', 'aria-live': 'polite' });
		const formErr = h('p.form-error', { role: 'alert', hidden: true });
		const saveBtn = h('button.btn.primary', { type: 'submit', id: 'cfg-save' }, 'Save');
		const resetBtn = h('button.btn.ghost', { type: 'button', onclick: () => renderConfig() }, 'Reset');
		form = h('form.form#cfg-form', { novalidate: true }, f.profile.wrap, f.groups.wrap, f.params.wrap, f.user_data.wrap, f.metadata.wrap, touches, formErr, h('div.actions', saveBtn, resetBtn));
		form.fields = f;
		const updateTouches = () => {
			const ch = changes(f, true);
			const pick = f.profile.input.value;
			const extra = pick.startsWith('image:') && !S.profiles.some((p) => p.name === pick.slice(6)) ? ` Creates profile ${pick.slice(6)} for image ${pick.slice(6)}.` : '';
			touches.textContent = ch && Object.keys(ch).length ? `Saving touches 1 node: ${name} (from its next boot).${extra}` : 'No changes yet. A change here touches this node only.';
			touches.classList.toggle('pending', !!(ch && Object.keys(ch).length));
		};
		form.addEventListener('input', updateTouches);
		form.addEventListener('change', updateTouches);
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			for (const x of Object.values(f)) clearFieldError(x);
			formErr.hidden = true;
			const patch = changes(f, false);
			if (!patch) return;
			if (!Object.keys(patch).length) {
				toast('Nothing to save');
				return;
			}
			saveBtn.disabled = true;
			try {
				if (patch.profile && patch.profile.startsWith('image:')) {
					try {
						patch.profile = await ensureProfile(patch.profile.slice(6));
					} catch (err) {
						showFieldError(f.profile, err.message);
						f.profile.input.focus();
						return;
					}
				}
				await save(patch, f, formErr);
			} finally {
				saveBtn.disabled = false;
			}
		});
		clear(cfgCard, h('h2#cfg-title', 'Boot configuration'), form);
		updateTouches();
	}

	// The fields that differ from the node, as a PATCH body; null (and the
	// error shown at the field) when one cannot be sent as it is.
	function changes(f, quiet) {
		const out = {};
		const prof = f.profile.input.value || null;
		if (prof !== (node.profile || null)) out.profile = prof;
		const groups = f.groups.input.value
			.split(',')
			.map((s) => s.trim())
			.filter(Boolean);
		if (groups.join(',') !== (node.groups || []).join(',')) out.groups = groups;
		if (f.params.input.value !== (node.params || '')) out.params = f.params.input.value;
		if (f.user_data.input.value !== (node.user_data || '')) out.user_data = f.user_data.input.value;
		const mt = f.metadata.input.value.trim() || '{}';
		let meta;
		try {
			meta = JSON.parse(mt);
			if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new Error('metadata must be a JSON object');
		} catch (err) {
			if (!quiet) {
				showFieldError(f.metadata, 'Not a JSON object: ' + err.message);
				f.metadata.input.focus();
				return null;
			}
			return out;
		}
		if (JSON.stringify(meta) !== JSON.stringify(node.metadata || {})) out.metadata = meta;
		return out;
	}

	async function save(patch, f, formErr) {
		try {
			const n = await api('PATCH', `/nodes/${enc(name)}`, patch);
			node = n;
			putNode(n);
			toast(`Saved ${name}`);
			if (f) renderConfig();
			await refresh();
		} catch (e) {
			showApiError(e, f, formErr);
		}
	}

	async function refresh() {
		try {
			const [n, sc, c] = await Promise.all([get(`/nodes/${enc(name)}`), get(`/nodes/${enc(name)}/bootscript`), loadCloudInit()]);
			if (!alive) return;
			node = n;
			script = sc;
			ci = c;
			renderHead();
			renderPower();
			renderScript();
			renderCloudInit();
			renderInterfaces();
			if (!form || !isDirty()) renderConfig();
		} catch (e) {
			if (e.status === 404 && alive) clear(root, crumb, h('div.card.error-card', h('h1', name), h('p', 'This node was deleted.')));
		}
	}

	function isDirty() {
		const ch = form && changes(form.fields, true);
		return !!(ch && Object.keys(ch).length);
	}

	const reloadEvents = debounce(async () => {
		try {
			const ev = await get(`/nodes/${enc(name)}/events`);
			if (!alive) return;
			events = ev;
			const n = S.byName.get(name);
			if (n && node) {
				node.last_event = n.last_event;
				node.state = n.state;
			}
			renderTimeline();
			renderHead();
		} catch {
			/* the next event tries again */
		}
	}, 150);
	const reloadSoon = debounce(refresh, 250);

	const offs = [
		on('boot', (ev) => {
			if (ev.node === name && node) reloadEvents();
		}),
		on('nodes', () => node && reloadSoon()),
		on('groups', () => node && reloadSoon()),
		on('profiles', () => node && reloadSoon()),
		on('defaults', () => node && reloadSoon()),
		on('bmcs', () => node && renderPower()),
	];
	const tick = setInterval(() => {
		if (!node) return;
		renderTimeline();
		renderHead();
	}, 5000);

	loadAll();
	return {
		leave() {
			alive = false;
			offs.forEach((o) => o());
			clearInterval(tick);
			reloadEvents.cancel();
			reloadSoon.cancel();
		},
	};
}

// An API error at its field: 422 names the field ("params",
// "groups[1]", "interfaces[0].mac"); anything else under the form.
export function showApiError(e, fields, formErr) {
	const key = e.field ? e.field.split(/[[.]/)[0] : null;
	const f = fields && key && fields[key];
	if (f) {
		showFieldError(f, e.message);
		f.input.focus();
		return;
	}
	if (formErr) {
		formErr.textContent = e.message;
		formErr.hidden = false;
	} else toast(e.message, 'error');
}

function sourceText(eff) {
	if (eff.source === 'node') return 'the node’s own';
	if (eff.source === 'group') return 'via group ' + eff.group;
	if (eff.source === 'default') return 'default';
	return '';
}

// Where a node's arch came from (arch_source, docs/api.md).
const ARCH_SOURCE = { manual: 'set by hand', dhcp: 'learned from DHCP', ipxe: 'learned from iPXE', default: 'assumed: not seen yet' };

// "# profile P (from SOURCE), image I" in the script's header comment.
function parseScriptProfile(text) {
	const m = /^# profile (\S+) \(from ([^)]*)\)(?:, image (\S+))?/m.exec(text || '');
	if (!m) return null;
	const src = m[2] === 'node' ? 'the node’s own' : m[2].startsWith('group ') ? 'via ' + m[2] : m[2] === 'defaults' || m[2] === 'default' ? 'default' : m[2];
	return { profile: m[1], sourceText: src, image: m[3] || null };
}

function highlightIpxe(text) {
	const frag = document.createDocumentFragment();
	for (const line of (text || '').split('\n')) {
		let el;
		if (/^\s*#/.test(line)) el = h('span.c-comment', line);
		else if (/^:/.test(line)) el = h('span.c-label', line);
		else {
			const m = /^(\s*)(\S+)(.*)$/.exec(line);
			el = m ? h('span', m[1], h('span.c-cmd', m[2]), m[3].replace(/ \|\| goto \w+$/, ''), /\|\| goto \w+$/.test(m[3]) ? h('span.c-dim', ' ' + m[3].match(/\|\| goto \w+$/)[0]) : null) : h('span', line);
		}
		frag.appendChild(el);
		frag.appendChild(document.createTextNode('\n'));
	}
	return frag;
}

async function copyText(text, btn) {
	try {
		await navigator.clipboard.writeText(text);
		btn.textContent = 'Copied';
	} catch {
		btn.textContent = 'Select and copy';
	}
	setTimeout(() => (btn.textContent = 'Copy'), 2000);
}

