// Discovered machines: MACs that asked for an address or a boot script and
// belong to no node, each with a one-click adopt into a node.

import { api, enc, session } from './api.js';
import { h, clear, ago, dateTime, parseTime, toast, fmtInt, showFieldError, clearFieldError } from './dom.js';
import { S, on, load } from './state.js';

export function discoveredView(root) {
	const list = h('div.card.disc-card');
	clear(
		root,
		h('div.view-head', h('h1', 'Discovered machines'), h('p.lede', 'Machines that asked Corral for an address or a boot script but belong to no node. Their boot script waits and asks again, so an adopted machine boots at its next retry, without a power cycle.')),
		list,
	);

	function suggest(mac) {
		const base = 'node-' + mac.split(':').slice(3).join('');
		let name = base;
		for (let i = 2; S.byName.has(name); i++) name = `${base}-${i}`;
		return name;
	}

	function render() {
		const now = Date.now();
		const rows = [...S.discovered].sort((a, b) => (b.last_seen > a.last_seen ? 1 : -1));
		if (!rows.length) {
			clear(list, h('p.muted', 'No unknown machine has asked yet.'));
			return;
		}
		const groupOpts = () => [h('option', { value: '' }, 'no group'), S.groups.map((g) => h('option', { value: g.name }, g.name + (g.profile ? ` (profile ${g.profile})` : '')))];
		clear(
			list,
			h(
				'table.plain.disc',
				{ id: 'discovered-table' },
				h('caption.sr-only', 'Discovered machines'),
				h(
					'thead',
					h(
						'tr',
						h('th', { scope: 'col' }, 'MAC'),
						h('th', { scope: 'col' }, 'IP'),
						h('th', { scope: 'col' }, 'First seen'),
						h('th', { scope: 'col' }, 'Last seen'),
						h('th.num', { scope: 'col' }, 'Requests'),
						session.readOnly ? null : h('th', { scope: 'col' }, 'Adopt as node'),
					),
				),
				h(
					'tbody',
					rows.map((d, i) => {
						const idp = `adopt-${i}`;
						let cell = null;
						if (!session.readOnly) {
							const name = h('input', { type: 'text', id: idp + '-name', value: suggest(d.mac), autocomplete: 'off', spellcheck: 'false', 'aria-describedby': idp + '-err' });
							const group = h('select', { id: idp + '-group' }, groupOpts());
							const err = h('p.field-error', { id: idp + '-err', role: 'alert', hidden: true });
							const f = { input: name, error: err, wrap: name.parentElement || h('span') };
							const btn = h('button.btn.primary.small', { type: 'submit' }, 'Adopt');
							const forget = h('button.btn.ghost.small', { type: 'button', title: 'Forget this MAC' }, 'Forget');
							const form = h(
								'form.adopt',
								{ dataset: { mac: d.mac }, novalidate: true },
								h('label.sr-only', { for: name.id }, `Node name for ${d.mac}`),
								name,
								h('label.sr-only', { for: group.id }, `Group for ${d.mac}`),
								group,
								btn,
								forget,
								err,
							);
							f.wrap = form;
							form.addEventListener('submit', async (e) => {
								e.preventDefault();
								clearFieldError(f);
								btn.disabled = true;
								const body = { name: name.value.trim() };
								if (group.value) body.groups = [group.value];
								try {
									const n = await api('POST', `/discovered/${enc(d.mac)}/adopt`, body);
									toast(`Adopted ${d.mac} as ${n.name}: it boots at its next retry`);
									await load(['discovered', 'nodes', 'groups']);
								} catch (ex) {
									showFieldError(f, ex.message);
									name.focus();
								} finally {
									btn.disabled = false;
								}
							});
							forget.addEventListener('click', async () => {
								try {
									await api('DELETE', `/discovered/${enc(d.mac)}`);
									toast(`Forgot ${d.mac}`);
									await load(['discovered']);
								} catch (ex) {
									toast(ex.message, 'error');
								}
							});
							cell = h('td', form);
						}
						const fs = parseTime(d.first_seen);
						const ls = parseTime(d.last_seen);
						return h(
							'tr',
							{ dataset: { mac: d.mac } },
							h('td.mono', d.mac),
							h('td.mono', d.ip || '—'),
							h('td', h('time', { datetime: d.first_seen, title: dateTime(fs) }, ago(fs, now))),
							h('td', h('time', { datetime: d.last_seen, title: dateTime(ls) }, ago(ls, now))),
							h('td.num', fmtInt(d.requests || 0)),
							cell,
						);
					}),
				),
			),
		);
	}

	render();
	// Redraw on changes unless someone is typing a name.
	const redraw = () => {
		if (list.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
		render();
	};
	const offs = [on('discovered', redraw), on('groups', redraw)];
	return { leave: () => offs.forEach((o) => o()) };
}
