// Node boot configuration: a bad kernel parameter or user-data shows the
// API's error at its field and saves nothing; a good change is saved and
// the page said beforehand which node it touches.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, until, macFor } from './harness.mjs';

let c, ctx, page;
const NAME = 'x1000c0s3b0n1';
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute' });
	await c.ok('POST', '/nodes', { name: NAME, groups: ['compute'], params: 'quiet', interfaces: [{ mac: macFor(31), ip: '10.100.3.1' }] });
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
	await page.goto(c.url + '/ui/#/nodes/' + NAME);
	await page.waitForSelector('#cfg-form');
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('the form says which node a change touches', async () => {
	assert.match(await page.textContent('#cfg-touches'), /touches this node only/);
	await page.fill('#cfg-params', 'quiet console=ttyS1');
	assert.match(await page.textContent('#cfg-touches'), new RegExp(`touches 1 node: ${NAME}`));
});

test('a kernel parameter with $ is refused at the field and nothing is saved', async () => {
	const writes = [];
	const onReq = (r) => r.method() !== 'GET' && writes.push(r.method() + ' ' + r.url());
	page.on('request', onReq);
	await page.fill('#cfg-params', 'quiet console=${console}');
	await page.fill('#cfg-user-data', '#cloud-config\nruncmd: [echo hi]\n');
	await page.click('#cfg-save');
	await page.waitForSelector('#cfg-params[aria-invalid="true"]');
	const err = await page.textContent('#cfg-params-err');
	assert.match(err, /\$/);
	assert.match(err, /not allowed/);
	assert.equal(await page.isVisible('#cfg-params-err'), true);
	// The error sits with its field and the field has the focus.
	assert.equal(await page.evaluate(() => document.activeElement.id), 'cfg-params');
	assert.equal(await page.getAttribute('#cfg-user-data', 'aria-invalid'), null);
	page.off('request', onReq);
	assert.equal(writes.length, 1, writes.join('\n'));
	assert.match(writes[0], /^PATCH .*\/api\/v1\/nodes\/x1000c0s3b0n1$/);
	// Nothing of the change was written: not the params, not the user-data.
	const n = await c.ok('GET', '/nodes/' + NAME);
	assert.equal(n.params, 'quiet');
	assert.equal(n.user_data, '');
	// The values stay in the form for fixing.
	assert.equal(await page.inputValue('#cfg-params'), 'quiet console=${console}');
});

test('a || word is refused too, and bad YAML at the user-data field', async () => {
	await page.fill('#cfg-params', 'quiet || reboot');
	await page.fill('#cfg-user-data', '#cloud-config\nruncmd: [echo hi\n');
	await page.click('#cfg-save');
	await page.waitForSelector('#cfg-params[aria-invalid="true"]');
	assert.match(await page.textContent('#cfg-params-err'), /\|\|/);
	await page.fill('#cfg-params', 'quiet');
	await page.click('#cfg-save');
	await page.waitForSelector('#cfg-user-data[aria-invalid="true"]');
	assert.match(await page.textContent('#cfg-user-data-err'), /YAML.*line/);
	assert.equal(await page.getAttribute('#cfg-params', 'aria-invalid'), null);
	assert.equal((await c.ok('GET', '/nodes/' + NAME)).user_data, '');
});

test('metadata that is not a JSON object is caught before sending', async () => {
	await page.fill('#cfg-user-data', '');
	await page.fill('#cfg-metadata', '{"rack": ');
	const writes = [];
	const onReq = (r) => r.method() !== 'GET' && writes.push(r.url());
	page.on('request', onReq);
	await page.click('#cfg-save');
	await page.waitForSelector('#cfg-metadata[aria-invalid="true"]');
	page.off('request', onReq);
	assert.deepEqual(writes, []);
});

test('a good change is saved and shows in the iPXE script', async () => {
	await page.fill('#cfg-metadata', '{"rack": "r3"}');
	await page.fill('#cfg-params', 'quiet console=ttyS1,115200');
	await page.click('#cfg-save');
	await until(async () => (await c.ok('GET', '/nodes/' + NAME)).params === 'quiet console=ttyS1,115200', 5000, 'params saved');
	assert.deepEqual((await c.ok('GET', '/nodes/' + NAME)).metadata, { rack: 'r3' });
	await page.waitForSelector('#ipxe pre >> text=console=ttyS1,115200');
	await page.waitForFunction(() => document.querySelector('#cloudinit pre').textContent.includes('"rack": "r3"'));
	assert.deepEqual(page.errors, []);
});

test('disable and enable the node', async () => {
	await page.click('#toggle-enabled');
	await page.click('#confirm-toggle');
	await until(async () => (await c.ok('GET', '/nodes/' + NAME)).enabled === false, 5000, 'disabled');
	await page.waitForSelector('.node-title .badge.st-disabled');
	assert.match(await c.ok('GET', `/nodes/${NAME}/bootscript`), /exit/);
	await page.click('#toggle-enabled');
	await page.click('#confirm-toggle');
	await until(async () => (await c.ok('GET', '/nodes/' + NAME)).enabled === true, 5000, 'enabled');
});
