// A read-only token sees everything and can change nothing: the page says
// "read-only", shows no changing control on any view, and sends no write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor } from './harness.mjs';

let c, ctx, page;
const writes = [];
const gets = [];
const NAME = 'x1000c0s0b0n5';
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute', user_data: '#cloud-config\npackages: [htop]\n' });
	await c.ok('POST', '/nodes', { name: NAME, groups: ['compute'], interfaces: [{ mac: macFor(5) }] });
	await c.nodeGet('/boot/v1/bootscript?mac=' + macFor(5));
	await c.nodeGet('/boot/v1/bootscript?mac=52:54:00:00:99:99');
	ctx = await launch();
	page = await newPage(ctx);
	page.on('request', (r) => (r.method() !== 'GET' ? writes.push(`${r.method()} ${r.url()}`) : gets.push(new URL(r.url()).pathname)));
	await signIn(page, c, c.read);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

// No form but the search box, no enabled write control, anywhere.
async function noChangingControls(where) {
	const found = await page.evaluate(() => {
		const bad = [];
		for (const f of document.querySelectorAll('main form:not([role=search])')) bad.push('form#' + f.id);
		for (const b of document.querySelectorAll('#delete-btn, #toggle-enabled, #cfg-save, #edit-save, [id^="new-"], .adopt, [data-write]:not([disabled])')) {
			if (b.offsetParent !== null || !b.closest('[hidden]')) bad.push(b.tagName + '#' + b.id + '.' + b.className);
		}
		return bad;
	});
	assert.deepEqual(found, [], `changing controls on ${where}`);
}

test('the scope comes from whoami (nothing is probed)', async () => {
	assert.ok(gets.includes('/api/v1/whoami'));
	assert.deepEqual(gets.filter((p) => p.startsWith('/api/v1/tokens')), []);
	assert.equal(await page.evaluate(async () => (await import('/ui/api.js')).session.readOnly), true);
});

test('the page says read-only', async () => {
	assert.equal(await page.isVisible('#ro-badge'), true);
	assert.equal((await page.textContent('#ro-badge')).trim(), 'read-only');
	assert.match(await page.textContent('#ro-banner'), /Read-only token: you can see everything and change nothing/);
	await page.waitForSelector(`#node-rows tr[data-name="${NAME}"]`);
	await noChangingControls('nodes');
});

test('a node page shows everything and offers no change', async () => {
	await page.goto(`${c.url}/ui/#/nodes/${NAME}`);
	await page.waitForSelector('#timeline .tl-stop[data-stage="bootscript"]');
	await page.waitForSelector('#ipxe pre');
	assert.match(await page.textContent('#ipxe pre'), /kernel .*compute-v1\/vmlinuz/);
	await page.click('#ci-tab-user-data');
	await page.waitForSelector('#ci-panel[data-file="user-data"]');
	assert.match(await page.textContent('#ci-panel pre'), /htop/);
	assert.match(await page.textContent('#bootcfg .ro-note'), /Read-only/);
	await noChangingControls('node page');
});

test('boot configuration views offer no change', async () => {
	for (const hash of ['#/bmcs']) {
		await page.goto(`${c.url}/ui/${hash}`);
		await page.waitForSelector('#bmc-list');
		await noChangingControls(hash);
	}
	for (const hash of ['#/config/groups', '#/config/groups/compute', '#/config/profiles/compute', '#/config/images/compute-v1', '#/config/defaults']) {
		await page.goto(`${c.url}/ui/${hash}`);
		await page.waitForSelector('.cfg-panel .card, .cfg-panel section');
		await noChangingControls(hash);
	}
	await page.goto(`${c.url}/ui/#/config/groups/compute`);
	await page.waitForSelector('.ro-note');
});

test('discovered machines can be seen, not adopted', async () => {
	await page.goto(`${c.url}/ui/#/discovered`);
	await page.waitForSelector('#discovered-table tr[data-mac="52:54:00:00:99:99"]');
	await noChangingControls('discovered');
});

test('even a direct call from the page sends nothing', async () => {
	const msg = await page.evaluate(async () => {
		const m = await import('/ui/api.js');
		try {
			await m.api('DELETE', '/nodes/x1000c0s0b0n5');
			return 'sent';
		} catch (e) {
			return e.message;
		}
	});
	assert.match(msg, /read-only session: nothing was sent/);
});

test('no write request left the page, and nothing changed', async () => {
	assert.deepEqual(writes, []);
	const n = await c.ok('GET', '/nodes/' + NAME);
	assert.equal(n.created, n.updated);
	assert.equal((await c.ok('GET', '/discovered')).length, 1);
	assert.deepEqual(page.errors, []);
});
