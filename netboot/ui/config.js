// Boot configuration: groups, profiles, images (list, inspect, create,
// change, delete) and the defaults.  Every form says which nodes a save
// touches before it is sent.

import { api, enc, session } from './api.js';
import { h, clear, toast, field, showFieldError, clearFieldError, nameList, plural, fmtInt } from './dom.js';
import { S, on, load, loadProfiles, usersOf, effective, groupBootNodes, defaultNodes, profileImage } from './state.js';

const TABS = [
	['groups', 'Groups'],
	['profiles', 'Profiles'],
	['images', 'Images'],
	['defaults', 'Defaults'],
];

// Per kind: the fields of its form and the columns of its list.
const KINDS = {
	groups: {
		one: 'group',
		fields: [
			{ k: 'profile', label: 'Boot profile or image', type: 'profile', hint: 'Members without their own profile boot with it (the first of a node’s groups that names one wins). Picking an image makes a profile of the same name for it.' },
			{ k: 'description', label: 'Description', type: 'text' },
			{ k: 'metadata', label: 'metadata (JSON object)', type: 'json', hint: 'cloud-init meta-data for the members, over the defaults’.' },
			{ k: 'user_data', label: 'user-data', type: 'textarea', hint: 'cloud-init user-data (YAML) for the members.' },
		],
		cols: [
			['Name', (o) => o.name],
			['Profile · image', (o) => (o.profile ? [o.profile, profileImage(o.profile) ? h('span.muted', ' · ' + profileImage(o.profile)) : null] : h('span.muted', '—'))],
			['Members', (o) => fmtInt((o.members || []).length), 'num'],
			['Description', (o) => o.description || ''],
		],
	},
	profiles: {
		one: 'profile',
		fields: [
			{ k: 'image', label: 'Image', type: 'image', hint: 'Either an image, or a kernel and an initrd below.' },
			{ k: 'images', label: 'Image per architecture', type: 'images', hint: 'A node boots the image for its architecture; without one here, the Image above if it is built for that architecture (or nobody has said what the node is yet); else the node waits and its timeline says why.' },
			{ k: 'kernel', label: 'Kernel', type: 'text', nullable: true, hint: 'Path under the file root, or an http(s) URL (only without an image).' },
			{ k: 'initrd', label: 'Initrd', type: 'text', nullable: true },
			{ k: 'params', label: 'Kernel parameters', type: 'text', mono: true, hint: 'After the image’s parameters, before the node’s.' },
			{ k: 'ipxe_binary', label: 'First-stage iPXE', type: 'text', mono: true, nullable: true, hint: 'For its nodes that name none themselves or through a group, e.g. ipxe.efi (a binary of the firmware table in dhcp.ipxe_dir). Empty: the server’s ipxe_efi.' },
		],
		cols: [
			['Name', (o) => o.name],
			['Boots', (o) => [o.image ? ['image ', o.image] : h('span.mono', o.kernel || ''), ...Object.entries(o.images || {}).map(([a, i]) => h('span.muted', ` · ${a}: ${i}`))]],
			['Parameters', (o) => h('span.mono', o.params || '')],
			['Used by', (o) => usersOf('profiles', o.name).join(', ') || h('span.muted', 'nothing')],
		],
	},
	images: {
		one: 'image',
		fields: [
			{ k: 'arch', label: 'Arch', type: 'select', options: ['x86_64', 'aarch64'] },
			{ k: 'kernel', label: 'Kernel', type: 'text', mono: true, required: true, hint: 'Path under the file root (served at /files/…) or an http(s) URL.' },
			{ k: 'initrd', label: 'Initrd', type: 'text', mono: true, required: true },
			{ k: 'rootfs', label: 'Root file system', type: 'text', mono: true, nullable: true, hint: 'Optional squashfs; name it with root=live: in the parameters.' },
			{ k: 'params', label: 'Kernel parameters', type: 'text', mono: true },
		],
		cols: [
			['Name', (o) => o.name],
			['Arch', (o) => o.arch],
			['Kernel · initrd', (o) => h('span.mono', [o.kernel, o.initrd].join(' · '))],
			['Used by', (o) => usersOf('images', o.name).join(', ') || h('span.muted', 'nothing')],
		],
	},
};

// The <select> of boot profiles, with images offered as "image X" (a
// profile of the same name is made for it on save).
export function profileChoice(current, id, noneLabel = '— none: from its groups or the defaults —') {
	const sel = h('select', { id });
	sel.appendChild(h('option', { value: '' }, noneLabel));
	const pg = h('optgroup', { label: 'Profiles' }, S.profiles.map((p) => h('option', { value: p.name, selected: p.name === current }, p.image ? `${p.name}  (image ${p.image})` : `${p.name}  (own kernel)`)));
	const ig = h(
		'optgroup',
		{ label: 'Images' },
		S.images.map((i) => {
			const same = S.profiles.find((p) => p.name === i.name);
			return h('option', { value: 'image:' + i.name }, same && same.image === i.name ? `image ${i.name}  (profile ${i.name})` : `image ${i.name}  (makes profile ${i.name})`);
		}),
	);
	if (S.profiles.length) sel.appendChild(pg);
	if (S.images.length) sel.appendChild(ig);
	if (current && !S.profiles.some((p) => p.name === current)) sel.appendChild(h('option', { value: current, selected: true }, current));
	sel.value = current || '';
	return sel;
}

// The profile for "image X": the profile named X if it uses image X, else
// a new one.  Returns its name.
export async function ensureProfile(image) {
	const same = S.profiles.find((p) => p.name === image);
	if (same) {
		if (same.image === image) return image;
		throw new Error(`profile ${image} exists and does not use image ${image}: pick a profile instead`);
	}
	await api('POST', '/profiles', { name: image, image });
	await loadProfiles();
	return image;
}

// The architectures a profile's images map offers a row for: the two
// common ones, those of the images there are, and those it names already.
const ARCHS = ['x86_64', 'aarch64', 'riscv64', 'loongarch64'];
function imageArchs(map) {
	const have = new Set(['x86_64', 'aarch64', ...S.images.map((i) => i.arch), ...Object.keys(map || {})]);
	return [...ARCHS.filter((a) => have.has(a)), ...[...have].filter((a) => a && !ARCHS.includes(a))];
}

// The images field: one select per architecture, offering that
// architecture's images.  Each row is a field of its own, "images.<arch>",
// so an error about one arch shows next to it.  Adds them to fields.
function imagesField(fields, d, v, id) {
	const rows = imageArchs(v).map((a) => {
		const cur = (v || {})[a] || '';
		const sel = h(
			'select',
			{ id: `${id}-${a}` },
			h('option', { value: '' }, '— none —'),
			S.images.filter((i) => i.arch === a || i.name === cur).map((i) => h('option', { value: i.name, selected: i.name === cur }, i.arch === a ? i.name : `${i.name} (${i.arch})`)),
		);
		sel.value = cur;
		fields[`images.${a}`] = field(`${a} nodes`, sel, null);
		fields[`images.${a}`].arch = a;
		return fields[`images.${a}`].wrap;
	});
	const err = h('p.field-error', { id: id + '-err', role: 'alert', hidden: true });
	const wrap = h('fieldset.field.arch-images', { id }, h('legend', d.label), h('p.hint', d.hint), h('div.arch-rows', rows), err);
	return { wrap, input: rows.length ? rows[0].querySelector('select') : wrap, error: err };
}

// The images map the form shows, or null after showing an error.
function imagesValue(fields, quiet) {
	const map = {};
	for (const f of Object.values(fields)) {
		if (!f.arch || !f.input.value) continue;
		const img = S.images.find((i) => i.name === f.input.value);
		if (img && img.arch !== f.arch && !quiet) {
			showFieldError(f, `${img.name} is an image for ${img.arch}, not ${f.arch}: pick one built for ${f.arch}.`);
			f.input.focus();
			return null;
		}
		map[f.arch] = f.input.value;
	}
	return map;
}

const sameMap = (a, b) => JSON.stringify(Object.entries(a || {}).sort()) === JSON.stringify(Object.entries(b || {}).sort());

// One form for creating (obj null) or changing an object of a kind.
function objectForm(kind, obj, idp) {
	const K = KINDS[kind];
	const fields = {};
	const parts = [];
	if (!obj) {
		fields.name = field('Name', h('input', { type: 'text', id: `${idp}-name`, autocomplete: 'off', spellcheck: 'false', required: true }), 'Letters, digits, . _ -; up to 63 characters.');
		parts.push(fields.name.wrap);
	}
	for (const d of K.fields) {
		const v = obj ? obj[d.k] : undefined;
		const id = `${idp}-${d.k.replace('_', '-')}`;
		let input;
		if (d.type === 'images') {
			fields[d.k] = imagesField(fields, d, v, id);
			parts.push(fields[d.k].wrap);
			continue;
		}
		if (d.type === 'profile') input = profileChoice(v || null, id, '— none —');
		else if (d.type === 'image') input = h('select', { id }, h('option', { value: '' }, '— none: kernel and initrd below —'), S.images.map((i) => h('option', { value: i.name, selected: i.name === v }, i.name)));
		else if (d.type === 'select') input = h('select', { id }, d.options.map((o) => h('option', { value: o, selected: o === v }, o)));
		else if (d.type === 'textarea') input = h('textarea.mono', { id, rows: 5, spellcheck: 'false' }, v || '');
		else if (d.type === 'json') input = h('textarea.mono', { id, rows: 3, spellcheck: 'false' }, JSON.stringify(v || {}, null, 2));
		else input = h('input', { type: 'text', id, value: v || '', class: d.mono ? 'mono' : null, autocomplete: 'off', spellcheck: 'false' });
		if (d.type === 'select' || d.type === 'image') input.value = v || (d.type === 'select' ? d.options[0] : '');
		fields[d.k] = field(d.label + (d.required ? ' (required)' : ''), input, d.hint);
		parts.push(fields[d.k].wrap);
	}
	// The body to send: all set fields for a create, changed ones for a
	// change; null after showing a field's error.
	function body(quiet) {
		const out = {};
		if (!obj) out.name = fields.name.input.value.trim();
		for (const d of K.fields) {
			const raw = d.type === 'images' ? null : fields[d.k].input.value;
			let v;
			if (d.type === 'images') {
				v = imagesValue(fields, quiet);
				if (v === null) return null;
				if (obj ? sameMap(v, obj.images) : !Object.keys(v).length) continue;
				out[d.k] = v;
				continue;
			}
			if (d.type === 'json') {
				try {
					v = JSON.parse(raw.trim() || '{}');
					if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
				} catch (e) {
					if (quiet) continue;
					showFieldError(fields[d.k], 'Not a JSON object: ' + e.message);
					fields[d.k].input.focus();
					return null;
				}
				if (obj && JSON.stringify(v) === JSON.stringify(obj[d.k] || {})) continue;
				if (!obj && !Object.keys(v).length) continue;
			} else {
				v = d.type === 'text' || d.type === 'textarea' ? raw.trim() : raw;
				if (d.type === 'textarea') v = raw;
				if (v === '' && (d.nullable || d.type === 'profile' || d.type === 'image')) v = null;
				if (obj && (v ?? '') === (obj[d.k] ?? '')) continue;
				if (!obj && (v === null || v === '')) continue;
			}
			out[d.k] = v;
		}
		return out;
	}
	return { fields, parts, body };
}

// Which nodes a change to this object touches, in words.
function touchText(kind, name, changed) {
	let nodes = [];
	let what = '';
	if (kind === 'groups') {
		const g = S.groupByName.get(name);
		const members = g ? g.members || [] : [];
		const cloud = changed.some((k) => k === 'metadata' || k === 'user_data');
		if (cloud || !changed.includes('profile')) {
			nodes = members;
			what = `its ${plural(members.length, 'member')}`;
		} else {
			nodes = groupBootNodes(name).map((n) => n.name);
			what = `the ${plural(nodes.length, 'member')} that take their boot profile from it (of ${fmtInt(members.length)})`;
		}
	} else if (kind === 'profiles') {
		nodes = S.nodes.filter((n) => effective(n).profile === name).map((n) => n.name);
		what = `the ${plural(nodes.length, 'node')} booting with it`;
	} else if (kind === 'images') {
		nodes = S.nodes.filter((n) => profileImage(effective(n).profile) === name).map((n) => n.name);
		what = `the ${plural(nodes.length, 'node')} whose profile uses it`;
	}
	if (!nodes.length) return `Saving touches no node now (${what}).`;
	return `Saving touches ${what}: ${nameList(nodes)}. They get it at their next boot.`;
}

export function configView(root, params) {
	const kind = params.kind && (KINDS[params.kind] || params.kind === 'defaults') ? params.kind : 'groups';
	const sel = params.name || null;
	let creating = params.name === undefined && params.create === true;

	const tabs = h(
		'nav.tabs',
		{ 'aria-label': 'Boot configuration' },
		TABS.map(([k, l]) => h('a.tab', { href: '#/config/' + k, 'aria-current': k === kind ? 'page' : null, dataset: { kind: k } }, l, k !== 'defaults' ? h('span.count', { id: `count-${k}` }) : null)),
	);
	const listBox = h('div.cfg-list');
	const panel = h('div.cfg-panel', { 'aria-live': 'polite' });
	clear(
		root,
		h('div.view-head', h('h1', 'Boot configuration'), h('p.lede', 'Images hold a kernel and an initrd; profiles boot an image with parameters; groups give their members a profile and cloud-init data. A node boots with its own profile, else its first group’s, else the default.')),
		tabs,
		kind === 'defaults' ? panel : h('div.cfg-split', listBox, panel),
	);

	function counts() {
		for (const k of Object.keys(KINDS)) {
			const el = document.getElementById('count-' + k);
			if (el) el.textContent = String(S[k].length);
		}
	}

	function renderList() {
		counts();
		if (kind === 'defaults') return;
		const K = KINDS[kind];
		const list = S[kind];
		const newBtn = session.readOnly ? null : h('button.btn.primary', { type: 'button', id: 'new-' + K.one, onclick: () => ((creating = true), go(null)) }, `New ${K.one}`);
		clear(
			listBox,
			h('div.card-head', h('h2', `${list.length} ${list.length === 1 ? K.one : kind}`), newBtn),
			list.length
				? h(
						'table.plain.cfg-table',
						{ id: kind + '-table' },
						h('thead', h('tr', K.cols.map(([l, , c]) => h('th', { scope: 'col', class: c || null }, l)))),
						h(
							'tbody',
							list.map((o) =>
								h(
									'tr',
									{ class: o.name === sel && !creating ? 'selected' : '', dataset: { name: o.name } },
									K.cols.map(([, f, c], i) => (i === 0 ? h('th', { scope: 'row' }, h('a', { href: `#/config/${kind}/${enc(o.name)}`, 'aria-current': o.name === sel ? 'true' : null }, o.name)) : h('td', { class: c || null }, f(o)))),
								),
							),
						),
					)
				: h('p.muted', `No ${kind} yet.`),
		);
	}

	function go(name) {
		const target = `#/config/${kind}/${enc(name || '')}`;
		if (name && location.hash !== target) {
			location.hash = target;
			return;
		}
		renderList();
		renderPanel();
	}

	function renderPanel() {
		if (kind === 'defaults') return renderDefaults();
		const K = KINDS[kind];
		if (creating && !session.readOnly) return renderCreate(K);
		const obj = sel && S[kind].find((o) => o.name === sel);
		if (!obj) {
			clear(panel, h('div.card.hint-card', h('p.muted', sel ? `There is no ${K.one} ${sel}.` : `Pick a ${K.one} to inspect it${session.readOnly ? '' : ', or make a new one'}.`)));
			return;
		}
		renderInspect(K, obj);
	}

	function renderCreate(K) {
		const f = objectForm(kind, null, 'new');
		const err = h('p.form-error', { role: 'alert', hidden: true });
		const form = h(
			'form.form.card#create-form',
			{ novalidate: true, 'aria-labelledby': 'create-title' },
			h('h2#create-title', `New ${K.one}`),
			f.parts,
			err,
			h('div.actions', h('button.btn.primary', { type: 'submit' }, `Create ${K.one}`), h('button.btn.ghost', { type: 'button', onclick: () => ((creating = false), renderPanel()) }, 'Cancel')),
		);
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			for (const x of Object.values(f.fields)) clearFieldError(x);
			err.hidden = true;
			const body = f.body(false);
			if (!body) return;
			try {
				if (typeof body.profile === 'string' && body.profile.startsWith('image:')) body.profile = await ensureProfile(body.profile.slice(6));
				await api('POST', `/${kind}`, body);
				toast(`Created ${K.one} ${body.name}`);
				creating = false;
				await load([kind, 'profiles']);
				go(body.name);
			} catch (ex) {
				fieldOrForm(ex, f.fields, err);
			}
		});
		clear(panel, form);
		f.fields.name.input.focus();
	}

	function renderInspect(K, obj) {
		const users = usersOf(kind, obj.name);
		const parts = [h('div.card-head', h('h2#inspect-title', `${K.one} ${obj.name}`), users.length ? h('span.chip', 'in use') : null)];
		if (kind === 'groups') {
			const m = obj.members || [];
			parts.push(
				h(
					'div.members',
					h('h3', `${plural(m.length, 'member')}`),
					m.length ? h('p', m.slice(0, 40).map((n, i) => [i ? ', ' : '', h('a', { href: '#/nodes/' + enc(n) }, n)]), m.length > 40 ? [' and ', h('a', { href: '#/nodes?group=' + enc(obj.name) }, `${fmtInt(m.length - 40)} more`)] : null) : h('p.muted', 'No members. Nodes join a group through their own groups list.'),
				),
			);
		} else {
			parts.push(h('p', h('strong', 'Used by: '), users.length ? users.join(', ') : h('span.muted', 'nothing')));
		}
		if (session.readOnly) {
			parts.push(h('p.ro-note', 'Read-only: this token cannot change or delete it.'));
			parts.push(h('pre.code', { tabindex: '0' }, JSON.stringify(obj, null, 2)));
			clear(panel, h('section.card', { 'aria-labelledby': 'inspect-title' }, parts));
			return;
		}
		const f = objectForm(kind, obj, 'edit');
		const err = h('p.form-error', { role: 'alert', hidden: true });
		const touches = h('p.touches', { id: 'edit-touches', 'aria-live': 'polite' });
		const form = h('form.form#edit-form', { novalidate: true }, f.parts, touches, err, h('div.actions', h('button.btn.primary', { type: 'submit', id: 'edit-save' }, 'Save')));
		const upd = () => {
			const b = f.body(true) || {};
			const keys = Object.keys(b);
			touches.textContent = keys.length ? touchText(kind, obj.name, keys) : `No changes yet. ${touchText(kind, obj.name, K.fields.map((d) => d.k)).replace('Saving touches', 'A change here touches')}`;
			touches.classList.toggle('pending', keys.length > 0);
		};
		form.addEventListener('input', upd);
		form.addEventListener('change', upd);
		upd();
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			for (const x of Object.values(f.fields)) clearFieldError(x);
			err.hidden = true;
			const body = f.body(false);
			if (!body) return;
			if (!Object.keys(body).length) return toast('Nothing to save');
			try {
				if (typeof body.profile === 'string' && body.profile.startsWith('image:')) body.profile = await ensureProfile(body.profile.slice(6));
				await api('PATCH', `/${kind}/${enc(obj.name)}`, body);
				toast(`Saved ${K.one} ${obj.name}`);
				await load([kind, 'profiles']);
				renderList();
				renderPanel();
			} catch (ex) {
				fieldOrForm(ex, f.fields, err);
			}
		});
		const delErr = h('p.form-error', { role: 'alert', id: 'delete-error', hidden: true });
		const delBox = h('div.danger');
		const delBtn = h('button.btn.danger', { type: 'button', id: 'delete-btn' }, `Delete ${K.one}…`);
		delBtn.addEventListener('click', () => {
			clear(
				delBox,
				h('p', `Delete ${K.one} ${obj.name}? ${users.length ? 'It is in use (' + users.join(', ') + '): corrald will refuse.' : 'Nothing uses it.'}`),
				h('button.btn.danger', { type: 'button', id: 'delete-confirm', onclick: del }, 'Delete'),
				h('button.btn.ghost', { type: 'button', onclick: () => clear(delBox, delBtn, delErr) }, 'Cancel'),
				delErr,
			);
			delBox.querySelector('#delete-confirm').focus();
		});
		async function del() {
			delErr.hidden = true;
			try {
				await api('DELETE', `/${kind}/${enc(obj.name)}`);
				toast(`Deleted ${K.one} ${obj.name}`);
				await load([kind]);
				location.hash = `#/config/${kind}`;
			} catch (ex) {
				delErr.textContent = ex.status === 409 ? `Refused: ${ex.message}` : ex.message;
				delErr.hidden = false;
			}
		}
		clear(delBox, delBtn, delErr);
		clear(panel, h('section.card', { 'aria-labelledby': 'inspect-title' }, parts, form, delBox));
	}

	function renderDefaults() {
		const d = S.defaults;
		const affected = defaultNodes();
		const title = h('h2#defaults-title', 'Defaults');
		const intro = h('p', 'The profile for nodes whose own profile and groups name none, and the cloud-init data under every group’s.');
		if (session.readOnly) {
			clear(
				panel,
				h(
					'section.card',
					{ 'aria-labelledby': 'defaults-title' },
					title,
					intro,
					h('p.ro-note', 'Read-only: this token cannot change the defaults.'),
					h('dl.facts.stack', h('div.fact', h('dt', 'Profile'), h('dd', d.profile || '—')), h('div.fact', h('dt', 'Nodes using it'), h('dd', fmtInt(affected.length))), h('div.fact', h('dt', 'metadata'), h('dd', h('code', JSON.stringify(d.metadata || {}))))),
					d.user_data ? h('pre.code', d.user_data) : null,
				),
			);
			return;
		}
		const f = {
			profile: field('Default boot profile or image', profileChoice(d.profile, 'def-profile', '— none: such nodes wait —'), null),
			metadata: field('metadata (JSON object)', h('textarea.mono', { id: 'def-metadata', rows: 3, spellcheck: 'false' }, JSON.stringify(d.metadata || {}, null, 2)), 'Under every group’s and node’s metadata.'),
			user_data: field('user-data', h('textarea.mono', { id: 'def-user-data', rows: 6, spellcheck: 'false' }, d.user_data || ''), 'Under every group’s and node’s user-data.'),
		};
		const touches = h('p.touches', { id: 'def-touches', 'aria-live': 'polite' });
		const err = h('p.form-error', { role: 'alert', hidden: true });
		const form = h('form.form#defaults-form', { novalidate: true }, f.profile.wrap, f.metadata.wrap, f.user_data.wrap, touches, err, h('div.actions', h('button.btn.primary', { type: 'submit' }, 'Save defaults')));
		const body = (quiet) => {
			const out = {};
			const p = f.profile.input.value || null;
			if (p !== (d.profile || null)) out.profile = p;
			if (f.user_data.input.value !== (d.user_data || '')) out.user_data = f.user_data.input.value;
			try {
				const m = JSON.parse(f.metadata.input.value.trim() || '{}');
				if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new Error('not an object');
				if (JSON.stringify(m) !== JSON.stringify(d.metadata || {})) out.metadata = m;
			} catch (e) {
				if (!quiet) {
					showFieldError(f.metadata, 'Not a JSON object: ' + e.message);
					f.metadata.input.focus();
					return null;
				}
			}
			return out;
		};
		const upd = () => {
			const b = body(true);
			const keys = Object.keys(b);
			const cloudNodes = S.nodes.map((n) => n.name);
			let text;
			if (!keys.length) text = `No changes yet. The default profile touches ${plural(affected.length, 'node')} without a node or group profile${affected.length ? ': ' + nameList(affected.map((n) => n.name)) : ''}.`;
			else if (keys.includes('metadata') || keys.includes('user_data')) text = `Saving touches every node’s cloud-init data (${plural(cloudNodes.length, 'node')}).` + (keys.includes('profile') ? ` The profile change touches ${plural(affected.length, 'node')} without a node or group profile${affected.length ? ': ' + nameList(affected.map((n) => n.name)) : ''}.` : '');
			else text = `Saving touches ${plural(affected.length, 'node')} without a node or group profile${affected.length ? ': ' + nameList(affected.map((n) => n.name)) : ''}. They get it at their next boot.`;
			touches.textContent = text;
			touches.classList.toggle('pending', keys.length > 0);
		};
		form.addEventListener('input', upd);
		form.addEventListener('change', upd);
		upd();
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			for (const x of Object.values(f)) clearFieldError(x);
			err.hidden = true;
			const b = body(false);
			if (!b) return;
			if (!Object.keys(b).length) return toast('Nothing to save');
			try {
				if (typeof b.profile === 'string' && b.profile.startsWith('image:')) b.profile = await ensureProfile(b.profile.slice(6));
				await api('PATCH', '/defaults', b);
				toast('Saved the defaults');
				await load(['defaults', 'profiles']);
				renderDefaults();
			} catch (ex) {
				fieldOrForm(ex, f, err);
			}
		});
		clear(panel, h('section.card', { 'aria-labelledby': 'defaults-title' }, title, intro, form));
	}

	renderList();
	renderPanel();
	// Lists change under the page (another admin, the CLI): redraw them, but
	// leave an open form alone.
	// Typing in a form marks it; an untouched one is redrawn.
	panel.addEventListener('input', (e) => e.target.closest('form') && (e.target.closest('form').dataset.dirty = '1'));
	panel.addEventListener('change', (e) => e.target.closest('form') && (e.target.closest('form').dataset.dirty = '1'));
	const redraw = () => {
		renderList();
		const f = panel.querySelector('form');
		if (f && (f.dataset.dirty || f.id === 'create-form')) return;
		// A pending delete confirmation or a shown error stays.
		if (panel.querySelector('#delete-confirm, .form-error:not([hidden])')) return;
		if (panel.contains(document.activeElement) && document.activeElement !== document.body) {
			const id = document.activeElement.id;
			renderPanel();
			if (id && document.getElementById(id)) document.getElementById(id).focus();
			return;
		}
		renderPanel();
	};
	const offs = ['groups', 'profiles', 'images', 'nodes', 'defaults'].map((k) => on(k, redraw));
	return { leave: () => offs.forEach((o) => o()) };
}

function fieldOrForm(e, fields, err) {
	// "images.aarch64" has a field of its own; else the top-level one
	const key = e.field && fields[e.field] ? e.field : e.field ? e.field.split(/[[.]/)[0] : null;
	if (key && fields[key]) {
		showFieldError(fields[key], e.message);
		fields[key].input.focus();
		return;
	}
	err.textContent = e.message;
	err.hidden = false;
}
