// Live updates: while the test plays a node's boot against corrald (boot
// script, a retry, kernel and initrd from /files, cloud-init with the
// token from the script, phone-home), the node's row in the table and its
// timeline on the node page move without a reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor } from './harness.mjs';

let c, ctx, table, node;
const NAME = 'x3000c0s7b0n0';
const MAC = macFor(0x3007);
const listFetches = [];
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1', params: 'quiet' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute' });
	await c.ok('POST', '/nodes', { name: NAME, groups: ['compute'], interfaces: [{ mac: MAC }] });
	await c.ok('POST', '/nodes', { name: 'x3000c0s7b0n1', groups: ['compute'], interfaces: [{ mac: macFor(0x3008) }] });
	ctx = await launch();
	table = await newPage(ctx);
	await signIn(table, c);
	await table.waitForSelector(`#node-rows tr[data-name="${NAME}"]`);
	node = await ctx.newPage();
	node.errors = [];
	node.on('pageerror', (e) => node.errors.push(e.message));
	node.setDefaultTimeout(10000);
	await signIn(node, c);
	await node.goto(`${c.url}/ui/#/nodes/${NAME}`);
	await node.waitForSelector('#timeline .empty-tl');
	for (const p of [table, node]) await p.evaluate(() => (window.__noReload = true));
	table.on('request', (r) => /\/api\/v1\/nodes(\?|$)/.test(r.url()) && listFetches.push(r.url()));
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

const row = `#node-rows tr[data-name="${NAME}"]`;
async function rowShows(stage, state) {
	await table.waitForFunction(
		([sel, st, s]) => {
			const tr = document.querySelector(sel);
			return tr && tr.querySelector('.stage-name').textContent === st && tr.querySelector('.badge').textContent === s;
		},
		[row, stage, state],
	);
}
async function timelineHas(stage, n = 1) {
	await node.waitForFunction(([st, k]) => document.querySelectorAll(`#timeline .tl-stop[data-stage="${st}"]`).length >= k, [stage, n]);
}

let seed;
test('boot script: the row says booting, the timeline starts', async () => {
	const r = await c.nodeGet('/boot/v1/bootscript?mac=' + MAC);
	assert.match(r.text, /^#!ipxe/);
	seed = /\/cloud-init\/([^/]+)\//.exec(r.text)[1];
	await rowShows('bootscript', 'booting');
	await timelineHas('bootscript');
	assert.match(await node.textContent('#tl-summary'), /Booting: at bootscript/);
	assert.equal(await table.getAttribute(`${row} .pipe`, 'aria-label'), 'at bootscript (iPXE)');
});

test('a retried boot script stands out', async () => {
	await c.nodeGet(`/boot/v1/bootscript?mac=${MAC}&retry=1`);
	await timelineHas('bootscript', 2);
	const stops = await node.$$eval('#timeline .tl-stop[data-stage="bootscript"]', (els) => els.map((e) => e.className));
	assert.match(stops[1], /\bwarn\b/);
	assert.match(await node.textContent('#timeline .tl-stop.warn .tl-note'), /retry 1/);
});

test('kernel and initrd downloads move the row and the timeline', async () => {
	let r = await c.nodeGet('/files/images/compute-v1/vmlinuz');
	assert.equal(r.status, 200);
	await rowShows('kernel', 'booting');
	await timelineHas('kernel');
	r = await c.nodeGet('/files/images/compute-v1/initrd');
	assert.equal(r.status, 200);
	await rowShows('initrd', 'booting');
	await timelineHas('initrd');
	// the gap between the stages is drawn
	assert.ok((await node.$$('#timeline .tl-gap')).length >= 3);
});

test('cloud-init with the token from the script', async () => {
	let r = await c.nodeGet(`/cloud-init/${seed}/meta-data`);
	assert.equal(r.status, 200);
	assert.match(r.text, new RegExp(`"local-hostname": "${NAME}"`));
	r = await c.nodeGet(`/cloud-init/${seed}/user-data`);
	assert.equal(r.status, 200);
	await rowShows('cloud-init', 'booting');
	await timelineHas('cloud-init');
});

test('phone-home: ready, everywhere, without a reload', async () => {
	const r = await c.nodePost(`/phone-home/${seed}`, { instance_id: 'i-' + NAME, hostname: NAME });
	assert.equal(r.status, 200);
	await rowShows('phone-home', 'ready');
	await timelineHas('phone-home');
	await node.waitForFunction(() => /Ready in .* after 1 retry/.test(document.querySelector('#tl-summary').textContent));
	assert.equal(await node.textContent('.node-title .badge'), 'ready');
	for (const p of [table, node]) assert.equal(await p.evaluate(() => window.__noReload), true);
	// Rows moved from the stream alone: the node list was not fetched again.
	assert.deepEqual(listFetches, []);
	// The counters followed.
	assert.equal(await table.textContent('.stat.st-ready .stat-n'), '1');
	assert.deepEqual(table.errors, []);
	assert.deepEqual(node.errors, []);
});

test('a node with no progress for over 2 minutes shows as stuck', async () => {
	const p = await ctx.newPage();
	p.setDefaultTimeout(10000);
	await p.clock.install();
	await signIn(p, c);
	await c.nodeGet('/boot/v1/bootscript?mac=' + macFor(0x3008));
	await p.goto(`${c.url}/ui/#/nodes/x3000c0s7b0n1`);
	await p.waitForSelector('#timeline .tl-stop[data-stage="bootscript"]');
	await p.clock.fastForward('02:30');
	await p.waitForFunction(() => /Stuck: no progress for 2 min/.test(document.querySelector('#tl-summary').textContent));
	assert.match(await p.getAttribute('#tl-summary', 'class'), /o-stuck/);
	assert.equal(await p.$$eval('#timeline .tl-stop.bad', (e) => e.length), 2); // the last stage and the "stuck" end
	await p.click('a[data-nav="nodes"]');
	await p.waitForSelector('#node-rows tr[data-name="x3000c0s7b0n1"] .badge.st-stalled');
	assert.equal(await p.textContent('.stat.st-stalled .stat-n'), '1');
	await p.close();
});

test('a DHCP request dnsmasq refused reads as blocked at DHCP, with its reason', async () => {
	// The page's own timeline module, in the page: the events as corrald
	// records them when dnsmasq ignores a disabled node (test_dhcp.py and
	// test_vm_dhcp.py check the recording against the real dnsmasq).
	const p = await ctx.newPage();
	await signIn(p, c);
	const res = await p.evaluate(async () => {
		const { splitBoots, analyse } = await import('/ui/timeline.js');
		const t0 = Date.parse('2026-11-25T10:00:00Z');
		const ev = (s, stage, detail) => ({ time: new Date(t0 + s * 1000).toISOString(), stage, source: '', detail });
		const refused = [ev(0, 'dhcp', 'not answered: the node is disabled (DHCPDISCOVER ignored)')];
		const nak = [ev(0, 'dhcp', 'PXE firmware lease 10.0.0.5'), ev(1, 'bootscript', 'profile compute (node)'), ev(40, 'dhcp', 'refused: wrong address (DHCPNAK 10.0.0.9)')];
		const ok = [ev(0, 'dhcp', 'iPXE lease 10.0.0.5'), ev(1, 'bootscript', 'profile compute (node)')];
		const one = (evs) => {
			const boots = splitBoots(evs);
			const a = analyse(boots[boots.length - 1], t0 + 50000);
			return { outcome: a.outcome, summary: a.summary, marks: a.items.map((i) => i.mark) };
		};
		return { refused: one(refused), nak: one(nak), ok: one(ok) };
	});
	assert.deepEqual(res.refused, { outcome: 'bad', summary: 'Blocked at DHCP: not answered: the node is disabled (DHCPDISCOVER ignored)', marks: ['bad'] });
	assert.equal(res.nak.outcome, 'bad');
	assert.equal(res.nak.summary, 'Blocked at DHCP: refused: wrong address (DHCPNAK 10.0.0.9)');
	assert.equal(res.ok.outcome, 'booting');
	assert.deepEqual(res.ok.marks, ['', '']);
	await p.close();
});

test('a root image the node refused reads as blocked at the root image, with the mismatch', async () => {
	// The events as corrald records them: the rootfs download, then the
	// node's own report (POST /boot/v1/report, test_rootfs_report.py).
	const p = await ctx.newPage();
	await signIn(p, c);
	const res = await p.evaluate(async () => {
		const { splitBoots, analyse } = await import('/ui/timeline.js');
		const t0 = Date.parse('2026-11-25T10:00:00Z');
		const ev = (s, stage, detail) => ({ time: new Date(t0 + s * 1000).toISOString(), stage, source: '', detail });
		const head = [ev(0, 'dhcp', 'iPXE lease 10.0.0.5'), ev(1, 'bootscript', 'profile compute (node)'), ev(2, 'kernel', 'images/c/vmlinuz'), ev(3, 'initrd', 'images/c/initrd'), ev(5, 'rootfs', 'images/c/rootfs.squashfs')];
		const one = (evs) => {
			const a = analyse(splitBoots(evs)[0], t0 + 30000);
			return { outcome: a.outcome, summary: a.summary, marks: a.items.map((i) => i.mark) };
		};
		return { bad: one([...head, ev(9, 'rootfs', 'sha256 mismatch: expected 5891b5b522d5 got 0e5751c026e5; not mounted')]), ok: one(head) };
	});
	assert.equal(res.bad.outcome, 'bad');
	assert.equal(res.bad.summary, 'Blocked at the root image: sha256 mismatch: expected 5891b5b522d5 got 0e5751c026e5; not mounted');
	assert.deepEqual(res.bad.marks, ['', '', '', '', '', 'bad']);
	assert.equal(res.ok.outcome, 'booting');
	await p.close();
});
