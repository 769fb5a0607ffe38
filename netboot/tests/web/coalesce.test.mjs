// Coalesced timeline rows on the node page: a node asking for its boot
// script again and again is one row of its timeline with a count and its
// first and last time (corrald's events writer, events.coalesce_window);
// the page shows that row as such, on the track ("boot script ×12",
// "×12, 21:04:10–21:05:02") and in the events table, with exactly the
// count and times the API gives, and follows it live as it grows.  Gaps
// and "stuck" are measured from a row's last time, not its first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor } from './harness.mjs';

let c, ctx, p;
const NAME = 'x3000c0s9b0n0';
const MAC = macFor(0x3009);
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1' });
	await c.ok('POST', '/nodes', { name: NAME, profile: 'compute', interfaces: [{ mac: MAC }] });
	ctx = await launch();
	p = await newPage(ctx);
	p.errors = [];
	p.on('pageerror', (e) => p.errors.push(e.message));
	p.setDefaultTimeout(10000);
	await signIn(p, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

// The page's own clock format (local time, HH:MM:SS) for an API time.
function hms(page, iso) {
	return page.evaluate((s) => {
		const d = new Date(s);
		return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
	}, iso);
}

async function askScript(n) {
	for (let i = 0; i < n; i++) {
		const r = await c.nodeGet('/boot/v1/bootscript?mac=' + MAC);
		assert.equal(r.status, 200);
	}
}

test('twelve identical boot-script requests are one row: ×12 with its first and last time', async () => {
	await askScript(12);
	const rows = await c.ok('GET', `/nodes/${NAME}/events`);
	assert.equal(rows.length, 1);
	assert.equal(rows[0].count, 12);
	assert.equal(rows[0].time, rows[0].first);
	assert.ok(Date.parse(rows[0].last) >= Date.parse(rows[0].first));

	await p.goto(`${c.url}/ui/#/nodes/${NAME}`);
	const stop = '#timeline .tl-stop[data-stage="bootscript"]';
	await p.waitForSelector(stop);
	assert.equal(await p.$$eval(stop, (e) => e.length), 1);
	assert.equal(await p.textContent(`${stop} .tl-stage`), 'boot script ×12');
	const range = `×12, ${await hms(p, rows[0].first)}–${await hms(p, rows[0].last)}`;
	assert.equal(await p.textContent(`${stop} .tl-repeat`), range);

	// The table under the track: one row, saying how many and from when to when.
	await p.click('#timeline details.tl-events summary');
	assert.match(await p.textContent('#timeline details.tl-events summary'), /^All 12 events of this attempt \(1 row/);
	assert.equal(await p.$$eval('#timeline table.events tbody tr', (e) => e.length), 1);
	assert.equal(await p.textContent('#timeline table.events tbody tr .repeat'), range);
	assert.match(await p.getAttribute('#timeline table.events tbody tr .repeat', 'title'), /^12 identical events, the first at .* the last at /);
});

test('the row grows live: three more requests make it ×15 without a reload', async () => {
	await p.evaluate(() => (window.__noReload = true));
	await askScript(3);
	await p.waitForFunction(() => document.querySelector('#timeline .tl-stop[data-stage="bootscript"] .tl-stage')?.textContent === 'boot script ×15');
	const rows = await c.ok('GET', `/nodes/${NAME}/events`);
	assert.equal(rows.length, 1);
	assert.equal(rows[0].count, 15);
	const range = `×15, ${await hms(p, rows[0].first)}–${await hms(p, rows[0].last)}`;
	await p.waitForFunction((r) => document.querySelector('#timeline .tl-repeat')?.textContent === r, range);
	assert.equal(await p.evaluate(() => window.__noReload), true);
	assert.deepEqual(p.errors, []);
});

test('gaps and "stuck" are measured from a coalesced row\'s last time', async () => {
	const res = await p.evaluate(async () => {
		const { splitBoots, analyse, repeatText } = await import('/ui/timeline.js');
		const t0 = Date.parse('2026-11-25T10:00:00Z');
		const at = (s) => new Date(t0 + s * 1000).toISOString();
		// 37 boot scripts over 170 s (a node that cannot go on), then nothing.
		const loop = { time: at(0), first: at(0), last: at(170), count: 37, stage: 'bootscript', source: '', detail: 'profile compute (node)' };
		const a = analyse(splitBoots([loop])[0], t0 + 180000);
		// The same, then the kernel 2 s after the last request.
		const b = analyse(splitBoots([loop, { time: at(172), first: at(172), last: at(172), count: 1, stage: 'kernel', source: '', detail: 'k' }])[0], t0 + 175000);
		const ev = splitBoots([loop])[0].events[0];
		return { outcome: a.outcome, end: a.end - t0, gap: b.items[1].gap, text: repeatText(ev), n: ev.n };
	});
	// 180 s after the first request but 10 s after the last: still booting, not stuck
	assert.equal(res.outcome, 'booting');
	assert.equal(res.end, 170000);
	assert.equal(res.gap, 2000);
	assert.equal(res.n, 37);
	assert.match(res.text, /^×37, \d\d:\d\d:\d\d–\d\d:\d\d:\d\d$/);
});
