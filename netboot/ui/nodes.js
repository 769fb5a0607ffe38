// The nodes table: every node, filtered and searched in memory, shown a
// page at a time (10,000 nodes stay responsive), rows moving live as boot
// events arrive.  An admin token can select nodes and power them or set a
// one-time PXE boot through their BMCs (Redfish) in one job.

import { session } from './api.js';
import { h, clear, ago, dateTime, debounce, fmtInt, plural } from './dom.js';
import { S, on, nodeStatus, effective, profileImage, byNaturalName } from './state.js';
import { pipeline } from './timeline.js';
import { powerControls, powerBadge } from './redfish.js';

// Filters survive a visit to a node page.
const F = { q: '', status: '', group: '', arch: '', page: 0, size: 100, sort: 'name', dir: 1 };

const STATUSES = [
	['', 'All'],
	['ready', 'Ready'],
	['booting', 'Booting'],
	['stalled', 'Stalled'],
	['new', 'New'],
	['disabled', 'Disabled'],
];

const FLASH_MS = 2500;

// The selected nodes (by name), kept across visits like the filters.
const SEL = new Set();

export function nodesView(root, params) {
	if (params.group !== undefined) F.group = params.group;
	if (params.status !== undefined) F.status = params.status;
	const admin = !session.readOnly;
	let alive = true;
	const recent = new Map(); // node name -> when its last live update came
	let rows = []; // filtered and sorted
	let dirty = true;

	const title = h('div.view-head', h('h1', 'Nodes'), h('p.lede', 'Every node, its boot progress and configuration. Rows move live as nodes boot.'));
	const stats = h('div.stats', { role: 'group', 'aria-label': 'Filter by state' });

	const search = h('input', { type: 'search', id: 'node-search', placeholder: 'name, group, MAC, IP, role…', autocomplete: 'off', spellcheck: 'false', value: F.q });
	const statusSel = h('select', { id: 'filter-state' }, STATUSES.map(([v, l]) => h('option', { value: v }, v ? l : 'any state')));
	const groupSel = h('select', { id: 'filter-group' });
	const archSel = h('select', { id: 'filter-arch' }, h('option', { value: '' }, 'any arch'), h('option', { value: 'x86_64' }, 'x86_64'), h('option', { value: 'aarch64' }, 'aarch64'));
	const clearBtn = h('button.btn.ghost', { type: 'button' }, 'Clear filters');
	const toolbar = h(
		'form.toolbar',
		{ role: 'search', onsubmit: (e) => e.preventDefault() },
		h('div.tool.grow', h('label', { for: 'node-search' }, 'Search'), search),
		h('div.tool', h('label', { for: 'filter-state' }, 'State'), statusSel),
		h('div.tool', h('label', { for: 'filter-group' }, 'Group'), groupSel),
		h('div.tool', h('label', { for: 'filter-arch' }, 'Arch'), archSel),
		h('div.tool.end', clearBtn),
	);
	const count = h('p.count', { id: 'node-count', 'aria-live': 'polite' });

	const sortBtn = (key, label) =>
		h('button.sort', { type: 'button', dataset: { sort: key }, onclick: () => setSort(key) }, label, h('span.sort-mark', { 'aria-hidden': 'true' }));
	const selPage = admin ? h('input.sel-page', { type: 'checkbox', id: 'sel-page', 'aria-label': 'Select every node on this page' }) : null;
	const head = h(
		'thead',
		h(
			'tr',
			admin ? h('th.c-sel', { scope: 'col' }, selPage) : null,
			h('th.c-name', { scope: 'col', dataset: { col: 'name' } }, sortBtn('name', 'Name')),
			h('th.c-state', { scope: 'col', dataset: { col: 'state' } }, sortBtn('state', 'State')),
			h('th.c-stage', { scope: 'col' }, 'Last boot stage'),
			h('th.c-when', { scope: 'col', dataset: { col: 'last' } }, sortBtn('last', 'When')),
			h('th.c-profile', { scope: 'col' }, 'Profile · image'),
			h('th.c-groups', { scope: 'col' }, 'Groups'),
			h('th.c-arch', { scope: 'col' }, 'Arch'),
		),
	);
	const body = h('tbody', { id: 'node-rows' });
	const table = h('table.nodes', { id: 'nodes-table' }, h('caption.sr-only', 'Nodes'), head, body);
	const empty = h('div.empty', { hidden: true });

	const prev = h('button.btn', { type: 'button', id: 'page-prev' }, '‹ Previous');
	const next = h('button.btn', { type: 'button', id: 'page-next' }, 'Next ›');
	const pageInfo = h('span.page-info', { id: 'page-info' });
	const sizeSel = h('select', { id: 'page-size' }, [50, 100, 250, 500].map((n) => h('option', { value: n, selected: n === F.size }, String(n))));
	const pager = h('nav.pager', { 'aria-label': 'Pages' }, prev, pageInfo, next, h('span.spacer'), h('label', { for: 'page-size' }, 'Rows per page'), sizeSel);

	// The selection's bar: what is selected and the power / PXE actions.
	const bulkInfo = h('p.bulk-info', { id: 'bulk-info', 'aria-live': 'polite' });
	const selAll = h('button.btn.ghost.small', { type: 'button', id: 'sel-all' }, 'Select all matching');
	const selNone = h('button.btn.ghost.small', { type: 'button', id: 'sel-none' }, 'Clear selection');
	const bulk = admin ? powerControls({ prefix: 'bulk', names: () => [...SEL].filter((n) => S.byName.has(n)), isAlive: () => alive }) : null;
	const bulkBar = admin ? h('section.bulk-bar', { id: 'bulk-bar', 'aria-label': 'Selected nodes', hidden: true }, h('div.bulk-head', bulkInfo, selAll, selNone), bulk.el) : null;

	clear(root, title, stats, toolbar, count, bulkBar, h('div.table-wrap', table, empty), pager);

	statusSel.value = F.status;
	archSel.value = F.arch;

	function fillGroups() {
		const cur = F.group;
		clear(groupSel, h('option', { value: '' }, 'any group'), S.groups.map((g) => h('option', { value: g.name }, g.name)));
		if (cur && !S.groupByName.has(cur)) groupSel.appendChild(h('option', { value: cur }, cur));
		groupSel.value = cur;
	}

	function setSort(key) {
		if (F.sort === key) F.dir = -F.dir;
		else {
			F.sort = key;
			F.dir = key === 'last' ? -1 : 1;
		}
		F.page = 0;
		dirty = true;
		render();
	}

	const STATE_ORDER = { stalled: 0, booting: 1, new: 2, ready: 3, disabled: 4 };

	function compute(now) {
		const q = F.q.trim().toLowerCase();
		const words = q ? q.split(/\s+/) : [];
		const out = [];
		for (const n of S.nodes) {
			if (F.arch && n.arch !== F.arch) continue;
			if (F.group && !(n.groups || []).includes(F.group)) continue;
			if (F.status && nodeStatus(n, now) !== F.status) continue;
			if (words.length && !words.every((w) => n._key.includes(w))) continue;
			out.push(n);
		}
		if (F.sort === 'last') out.sort((a, b) => F.dir * ((a._t ?? -Infinity) - (b._t ?? -Infinity)) || byNaturalName(a, b));
		else if (F.sort === 'state') out.sort((a, b) => F.dir * (STATE_ORDER[nodeStatus(a, now)] - STATE_ORDER[nodeStatus(b, now)]) || byNaturalName(a, b));
		else if (F.dir < 0) out.reverse();
		rows = out;
		dirty = false;
	}

	function renderStats(now) {
		const c = { '': S.nodes.length, ready: 0, booting: 0, stalled: 0, new: 0, disabled: 0 };
		for (const n of S.nodes) c[nodeStatus(n, now)]++;
		clear(
			stats,
			STATUSES.map(([v, l]) =>
				h(
					'button.stat',
					{
						type: 'button',
						class: 'st-' + (v || 'all'),
						'aria-pressed': String(F.status === v),
						dataset: { status: v },
						onclick: () => {
							F.status = F.status === v ? '' : v;
							statusSel.value = F.status;
							F.page = 0;
							dirty = true;
							render();
						},
					},
					h('span.stat-n', fmtInt(c[v])),
					h('span.stat-l', l),
				),
			),
		);
	}

	function row(n, now) {
		const st = nodeStatus(n, now);
		const eff = effective(n);
		const img = eff.profile ? profileImage(eff.profile) : null;
		const src = eff.source === 'node' ? 'own' : eff.source === 'group' ? `via group ${eff.group}` : eff.source === 'default' ? 'default' : '';
		const le = n.last_event;
		const flash = recent.has(n.name) && now - recent.get(n.name) < FLASH_MS;
		const iface = (n.interfaces || [])[0];
		const link = S.sysByNode.get(n.name);
		return h(
			'tr',
			{ dataset: { name: n.name }, class: flash ? 'flash' : '' },
			admin ? h('td.c-sel', h('input.sel', { type: 'checkbox', checked: SEL.has(n.name), 'aria-label': 'Select ' + n.name, dataset: { name: n.name } })) : null,
			h('td.c-name', h('a.node-link', { href: '#/nodes/' + encodeURIComponent(n.name) }, n.name), iface ? h('span.sub.mono', iface.ip || iface.mac) : null),
			h('td.c-state', h('span.badge', { class: 'st-' + st }, st), link ? h('span.sub', { title: 'Power state from its BMC ' + link.bmc.address }, powerBadge(link.sys.power_state)) : null),
			h('td.c-stage', pipeline(le && le.stage, st), h('span.stage-name', le ? le.stage : '—')),
			h('td.c-when', le ? h('time', { datetime: le.time, title: dateTime(n._t) }, ago(n._t, now)) : h('span.muted', 'never')),
			h(
				'td.c-profile',
				eff.profile ? h('span', eff.profile, img ? h('span.muted', ' · ' + img) : null) : h('span.warn-text', 'none'),
				src ? h('span.sub', src) : null,
			),
			h('td.c-groups', (n.groups || []).map((g) => h('span.chip', g))),
			h('td.c-arch.mono', n.arch || ''),
		);
	}

	function render() {
		const now = Date.now();
		if (dirty) compute(now);
		renderStats(now);
		const pages = Math.max(1, Math.ceil(rows.length / F.size));
		if (F.page >= pages) F.page = pages - 1;
		const from = F.page * F.size;
		const slice = rows.slice(from, from + F.size);
		// Keep keyboard focus on the same node's link (or box) across re-renders.
		const active = document.activeElement;
		const focusName = active && body.contains(active) ? active.closest('tr').dataset.name : null;
		const focusSel = focusName && active.classList.contains('sel') ? 'input.sel' : 'a';
		const frag = document.createDocumentFragment();
		for (const n of slice) frag.appendChild(row(n, now));
		body.replaceChildren(frag);
		if (focusName) {
			const a = body.querySelector(`tr[data-name="${CSS.escape(focusName)}"] ${focusSel}`);
			if (a) a.focus();
		}
		shown = slice;
		renderSelection();
		const filtered = rows.length !== S.nodes.length;
		count.textContent = rows.length
			? `Showing ${fmtInt(from + 1)}–${fmtInt(from + slice.length)} of ${plural(rows.length, 'node')}${filtered ? ` (${fmtInt(S.nodes.length)} in all)` : ''}`
			: '';
		empty.hidden = rows.length > 0;
		table.hidden = rows.length === 0;
		clear(empty, S.nodes.length ? 'No node matches these filters.' : h('span', 'No nodes yet. Adopt one from ', h('a', { href: '#/discovered' }, 'Discovered'), ', or import with ', h('code', 'corral node import'), '.'));
		pageInfo.textContent = `Page ${fmtInt(F.page + 1)} of ${fmtInt(pages)}`;
		prev.disabled = F.page === 0;
		next.disabled = F.page >= pages - 1;
		for (const th of head.querySelectorAll('th[data-col]')) {
			const k = th.dataset.col;
			th.setAttribute('aria-sort', F.sort === k ? (F.dir > 0 ? 'ascending' : 'descending') : 'none');
		}
		clearBtn.disabled = !(F.q || F.status || F.group || F.arch);
	}

	let shown = []; // the nodes on the page now

	function renderSelection() {
		if (!admin) return;
		for (const name of [...SEL]) if (!S.byName.has(name)) SEL.delete(name);
		const picked = shown.filter((n) => SEL.has(n.name)).length;
		selPage.checked = shown.length > 0 && picked === shown.length;
		selPage.indeterminate = picked > 0 && picked < shown.length;
		bulkBar.hidden = SEL.size === 0 && !bulk.isBusy();
		const withBmc = [...SEL].filter((n) => S.sysByNode.has(n)).length;
		bulkInfo.textContent = `${plural(SEL.size, 'node')} selected` + (SEL.size ? ` · ${withBmc === SEL.size ? 'all' : fmtInt(withBmc)} with a BMC` : '');
		selAll.hidden = rows.length <= SEL.size && rows.every((n) => SEL.has(n.name));
		selAll.textContent = `Select all ${plural(rows.length, 'matching node')}`;
	}

	if (admin) {
		body.addEventListener('change', (e) => {
			const box = e.target.closest('input.sel');
			if (!box) return;
			if (box.checked) SEL.add(box.dataset.name);
			else SEL.delete(box.dataset.name);
			renderSelection();
		});
		selPage.addEventListener('change', () => {
			for (const n of shown) {
				if (selPage.checked) SEL.add(n.name);
				else SEL.delete(n.name);
			}
			for (const b of body.querySelectorAll('input.sel')) b.checked = SEL.has(b.dataset.name);
			renderSelection();
		});
		selAll.addEventListener('click', () => {
			for (const n of rows) SEL.add(n.name);
			render();
		});
		selNone.addEventListener('click', () => {
			SEL.clear();
			render();
			selPage.focus();
		});
	}

	const refilter = () => {
		F.page = 0;
		dirty = true;
		render();
	};
	const onSearch = debounce(() => {
		F.q = search.value;
		refilter();
	}, 120);
	search.addEventListener('input', onSearch);
	statusSel.addEventListener('change', () => {
		F.status = statusSel.value;
		refilter();
	});
	groupSel.addEventListener('change', () => {
		F.group = groupSel.value;
		refilter();
	});
	archSel.addEventListener('change', () => {
		F.arch = archSel.value;
		refilter();
	});
	clearBtn.addEventListener('click', () => {
		F.q = F.status = F.group = F.arch = '';
		search.value = '';
		statusSel.value = groupSel.value = archSel.value = '';
		refilter();
		search.focus();
	});
	prev.addEventListener('click', () => {
		F.page--;
		render();
	});
	next.addEventListener('click', () => {
		F.page++;
		render();
	});
	sizeSel.addEventListener('change', () => {
		F.size = Number(sizeSel.value);
		F.page = 0;
		render();
	});

	// Live: a boot event updates its node in S (state.js) and lands here.
	const soon = debounce(() => {
		dirty = true;
		render();
	}, 150);
	const offs = [
		on('boot', (ev) => {
			recent.set(ev.node, Date.now());
			// The visible row changes at once; order and counts follow.
			const tr = body.querySelector(`tr[data-name="${CSS.escape(ev.node)}"]`);
			const n = S.byName.get(ev.node);
			if (tr && n) {
				const fresh = row(n, Date.now());
				const act = document.activeElement;
				const hadFocus = tr.contains(act);
				const onBox = hadFocus && act.classList.contains('sel');
				tr.replaceWith(fresh);
				if (hadFocus) fresh.querySelector(onBox ? 'input.sel' : 'a').focus();
			}
			soon();
		}),
		on('nodes', soon),
		on('groups', () => {
			fillGroups();
			soon();
		}),
		on('profiles', soon),
		on('defaults', soon),
		on('bmcs', soon),
	];
	const tick = setInterval(() => {
		if (F.status === 'stalled' || F.status === 'booting' || F.sort === 'state') dirty = true;
		render();
	}, 5000);

	fillGroups();
	render();
	return {
		leave() {
			alive = false;
			offs.forEach((f) => f());
			clearInterval(tick);
			soon.cancel();
			onSearch.cancel();
		},
	};
}

