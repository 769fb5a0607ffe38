// Discovered machines: an unknown MAC that asks for a boot script shows up
// live, and one click adopts it into a node that then boots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, until } from './harness.mjs';

let c, ctx, page;
const MAC = '52:54:00:ab:cd:ef';
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute' });
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('an unknown MAC appears under Discovered without a reload', async () => {
	await page.goto(c.url + '/ui/#/discovered');
	await page.waitForSelector('h1:has-text("Discovered machines")');
	await page.evaluate(() => (window.__same = true));
	const r = await c.nodeGet('/boot/v1/bootscript?mac=' + MAC.toUpperCase().replaceAll(':', '-'));
	assert.equal(r.status, 200);
	assert.match(r.text, /not registered/);
	await page.waitForSelector(`#discovered-table tr[data-mac="${MAC}"]`);
	assert.equal(await page.textContent('#nav-disc'), '1');
	assert.equal(await page.evaluate(() => window.__same), true);
});

test('adopt it with one click', async () => {
	const row = `#discovered-table tr[data-mac="${MAC}"]`;
	assert.equal(await page.inputValue(`${row} input`), 'node-abcdef');
	await page.fill(`${row} input`, 'x1000c1s0b0n0');
	await page.selectOption(`${row} select`, 'compute');
	await page.click(`${row} button[type=submit]`);
	await until(async () => (await c.api('GET', '/nodes/x1000c1s0b0n0')).status === 200, 5000, 'node adopted');
	const n = await c.ok('GET', '/nodes/x1000c1s0b0n0');
	assert.deepEqual(n.groups, ['compute']);
	assert.equal(n.interfaces[0].mac, MAC);
	await page.waitForFunction((m) => !document.querySelector(`#discovered-table tr[data-mac="${m}"]`), MAC);
	assert.deepEqual(await c.ok('GET', '/discovered'), []);
	// Its next retry gets a real boot script.
	const s = await c.nodeGet('/boot/v1/bootscript?mac=' + MAC);
	assert.match(s.text, /kernel .*compute-v1\/vmlinuz/);
	// And it is in the nodes table.
	await page.click('a[data-nav="nodes"]');
	await page.fill('#node-search', 'x1000c1s0b0n0');
	await page.waitForSelector('#node-rows tr[data-name="x1000c1s0b0n0"]');
	assert.deepEqual(page.errors, []);
});

test('a taken name is shown at the adopt field', async () => {
	const other = '52:54:00:ab:cd:01';
	await c.nodeGet('/boot/v1/bootscript?mac=' + other);
	await page.click('a[data-nav="discovered"]');
	const row = `#discovered-table tr[data-mac="${other}"]`;
	await page.waitForSelector(row);
	await page.fill(`${row} input`, 'x1000c1s0b0n0');
	await page.click(`${row} button[type=submit]`);
	await page.waitForSelector(`${row} input[aria-invalid="true"]`);
	assert.match(await page.textContent(`${row} .field-error`), /x1000c1s0b0n0|exists|taken/);
	assert.equal((await c.ok('GET', '/discovered')).length, 1);
});
