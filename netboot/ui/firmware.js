// BMC firmware on the BMCs page: the images in corrald's firmware store and
// the newest firmware update jobs, each with one line per BMC (status, the
// version before and after as its FirmwareInventory said, the BMC's own
// message).  Read-only: images are added and updates started with
// `corral firmware` or the API (an image is a file upload; an update
// reflashes BMCs, which is a deliberate act at the command line).

import { get } from './api.js';
import { h, clear, fmtInt, plural } from './dom.js';

const JOBS_SHOWN = 5;
const BAD = new Set(['refused', 'failed']);
const GOOD = new Set(['updated', 'current', 'would_update']);

function versions(b, key, list) {
	const v = b[key];
	const members = b[list] || [];
	if (v == null && !members.length) return h('span.muted', '—');
	const all = members.length > 1 ? members.map((m) => `${m.id || '?'} ${m.version || '?'}`).join(', ') : null;
	return h('span', h('span.mono', v ?? '?'), all ? h('span.sub', all) : null);
}

function bmcRow(b) {
	const st = b.status || 'running';
	const cls = BAD.has(st) ? 'st-stalled' : GOOD.has(st) ? 'st-ready' : 'st-booting';
	return h(
		'tr',
		{ dataset: { address: b.address || '', status: st } },
		h('td.mono', b.address ? `${b.address}:${b.port}` : '—', b.model ? h('span.sub', b.model) : null),
		h('td', (b.nodes || []).join(', ') || h('span.muted', '—')),
		h('td', h('span.badge.raw', { class: cls }, st)),
		h('td', versions(b, 'version_before', 'before')),
		h('td', versions(b, 'version_after', 'after')),
		h('td.fw-msg', b.message || ''),
	);
}

function jobBlock(j) {
	const img = j.image || {};
	const bmcs = j.bmcs || [];
	const bad = bmcs.filter((b) => BAD.has(b.status)).length;
	const th = (t) => h('th', { scope: 'col' }, t);
	return h(
		'div.fw-job',
		{ dataset: { job: j.id, state: j.state } },
		h(
			'h3',
			`${j.dry_run ? 'Dry run' : 'Update'}: ${img.name || '?'} `,
			h('span.muted', `(${img.model || '?'} ${img.version || '?'}; job ${j.id}, ${j.state}${bad ? `, ${fmtInt(bad)} refused or failed` : ''})`),
		),
		bmcs.length
			? h(
					'div.table-wrap',
					h(
						'table.plain.fw-bmcs',
						h('caption.sr-only', `Firmware job ${j.id}`),
						h('thead', h('tr', th('BMC'), th('Nodes'), th('Result'), th('Before'), th('After'), th('Message'))),
						h('tbody', bmcs.map(bmcRow)),
					),
				)
			: h('p.muted', j.state === 'done' ? 'No BMC was targeted.' : 'Starting…'),
	);
}

// The card; refresh() reloads it (the BMCs page calls it when a job ends).
export function firmwareCard() {
	const card = h('section.card#bmc-firmware', { 'aria-labelledby': 'fw-title' });
	let seq = 0;
	async function refresh() {
		const mine = ++seq;
		let images, jobs;
		try {
			[images, jobs] = await Promise.all([get('/firmware'), get('/jobs')]);
			const fw = jobs.filter((j) => j.type === 'firmware').slice(0, JOBS_SHOWN);
			jobs = await Promise.all(fw.map((j) => get(`/jobs/${j.id}`)));
		} catch (e) {
			if (mine === seq) clear(card, h('h2#fw-title', 'Firmware'), h('p.form-error', e.message));
			return;
		}
		if (mine !== seq) return; // a newer refresh is under way
		const th = (t) => h('th', { scope: 'col' }, t);
		clear(
			card,
			h('h2#fw-title', 'Firmware ', h('span.muted', `(${plural(images.length, 'image')})`)),
			h('p.muted', 'BMC firmware images corrald serves to BMCs, and the newest update jobs. Add images and start updates with corral firmware add / corral firmware update.'),
			images.length
				? h(
						'div.table-wrap',
						h(
							'table.plain.fw-images',
							h('caption.sr-only', 'Firmware images'),
							h('thead', h('tr', th('Name'), th('Model'), th('Version'), th('Size'), th('SHA-256'))),
							h(
								'tbody',
								images.map((i) => h('tr', { dataset: { name: i.name } }, h('td.mono', i.name), h('td', i.model), h('td.mono', i.version), h('td', `${fmtInt(i.size)} B`), h('td.mono.fw-sha', { title: i.sha256 }, i.sha256.slice(0, 16) + '…'))),
							),
						),
					)
				: h('p.muted#fw-no-images', 'No firmware image stored.'),
			jobs.length ? h('div.fw-jobs', jobs.map(jobBlock)) : h('p.muted#fw-no-jobs', 'No firmware update job kept.'),
		);
	}
	return { card, refresh };
}
