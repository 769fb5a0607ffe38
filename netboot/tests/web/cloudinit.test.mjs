// A node's cloud-init data on its page is exactly what the node gets
// (corrald merges it: defaults, groups in order, the node), read through
// the preview route, which records no boot event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor } from './harness.mjs';

let c, ctx, page;
const NAME = 'ci-node1';
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1' });
	await c.ok('PUT', '/defaults', { profile: null, metadata: { site: 'lab', ntp: { servers: ['ntp0'] } }, user_data: '#cloud-config\npackages: [chrony]\n' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute', metadata: { rack: 'r1', ntp: { servers: ['ntp1'] } }, user_data: '#cloud-config\npackages: [htop]\n' });
	await c.ok('POST', '/nodes', { name: NAME, groups: ['compute'], interfaces: [{ mac: macFor(7) }], metadata: { rack: 'r9' }, user_data: '#cloud-config\nruncmd: [echo node]\n' });
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('the three files, merged, as the node gets them; looking records no event', async () => {
	const eventsBefore = await c.ok('GET', `/nodes/${NAME}/events`);
	await page.goto(`${c.url}/ui/#/nodes/${NAME}`);
	await page.waitForSelector('#ci-panel pre');
	// meta-data: the node's value wins, lists are appended, defaults below.
	const meta = JSON.parse(await page.textContent('#ci-panel[data-file="meta-data"] pre'));
	assert.equal(meta['instance-id'], 'i-' + NAME);
	assert.equal(meta['local-hostname'], NAME);
	assert.equal(meta.rack, 'r9');
	assert.equal(meta.site, 'lab');
	assert.deepEqual(meta.ntp.servers, ['ntp0', 'ntp1']);
	// Exactly the preview route's text.
	const want = {};
	for (const f of ['meta-data', 'user-data', 'vendor-data']) want[f] = (await c.api('GET', `/nodes/${NAME}/cloud-init/${f}`)).body;
	assert.equal(await page.textContent('#ci-panel pre'), want['meta-data']);
	await page.click('#ci-tab-user-data');
	await page.waitForSelector('#ci-panel[data-file="user-data"]');
	const ud = await page.textContent('#ci-panel pre');
	assert.equal(ud, want['user-data']);
	for (const w of ['chrony', 'htop', 'echo node']) assert.ok(ud.includes(w), `user-data has ${w}:\n${ud}`);
	assert.equal(await page.getAttribute('#ci-tab-user-data', 'aria-selected'), 'true');
	// Keyboard: arrow right moves to vendor-data.
	await page.focus('#ci-tab-user-data');
	await page.keyboard.press('ArrowRight');
	await page.waitForSelector('#ci-panel[data-file="vendor-data"]');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'ci-tab-vendor-data');
	assert.equal((await page.textContent('#ci-panel')).trim(), want['vendor-data'].trim() || '(empty)');
	// No boot event was recorded by looking.
	const eventsAfter = await c.ok('GET', `/nodes/${NAME}/events`);
	assert.deepEqual(eventsAfter, eventsBefore);
	assert.equal((await c.ok('GET', '/nodes/' + NAME)).state, 'new');
	assert.deepEqual(page.errors, []);
});

test('a change to a group shows in the node’s merged data live', async () => {
	await page.click('#ci-tab-meta-data');
	await c.ok('PATCH', '/groups/compute', { metadata: { rack: 'r1', row: 'A' } });
	await page.waitForFunction(() => document.querySelector('#ci-panel pre').textContent.includes('"row": "A"'));
	assert.deepEqual(page.errors, []);
});
