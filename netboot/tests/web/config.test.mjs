// Boot configuration through the page's forms: create an image and a
// group, assign the image to the group (a profile of the image's name is
// made), see who a change touches, and a refused delete names the users.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, until, macFor } from './harness.mjs';

let c, ctx, page;
before(async () => {
	c = await startCorrald();
	c.addFile('images/rocky9/vmlinuz', 'k');
	c.addFile('images/rocky9/initrd', 'i');
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('create an image through its form', async () => {
	await page.goto(c.url + '/ui/#/config/images');
	await page.click('#new-image');
	await page.fill('#new-name', 'rocky9');
	await page.fill('#new-kernel', 'images/rocky9/vmlinuz');
	await page.fill('#new-initrd', 'images/rocky9/initrd');
	await page.fill('#new-params', 'console=ttyS0,115200');
	await page.click('#create-form button[type=submit]');
	await page.waitForSelector('#images-table tr[data-name="rocky9"]');
	const img = await c.ok('GET', '/images/rocky9');
	assert.equal(img.kernel, 'images/rocky9/vmlinuz');
	assert.equal(img.params, 'console=ttyS0,115200');
});

test('create a group, then assign the image to it', async () => {
	await c.ok('POST', '/nodes', { name: 'r7n1', groups: ['rack7'], interfaces: [{ mac: macFor(71) }] }).catch(() => {});
	// rack7 was created by the node above; make another one through the form.
	await page.goto(c.url + '/ui/#/config/groups');
	await page.click('#new-group');
	await page.fill('#new-name', 'gpu');
	await page.fill('#new-description', 'GPU nodes');
	await page.click('#create-form button[type=submit]');
	await page.waitForSelector('#groups-table tr[data-name="gpu"]');
	await page.waitForSelector('#inspect-title:has-text("group gpu")');
	let g = await c.ok('GET', '/groups/gpu');
	assert.equal(g.description, 'GPU nodes');
	assert.equal(g.profile, null);

	// Give it a member so the page has someone to name.
	await c.ok('POST', '/nodes', { name: 'gpu01', groups: ['gpu'], interfaces: [{ mac: macFor(81) }] });
	await page.waitForSelector('.members a:has-text("gpu01")');

	await page.selectOption('#edit-profile', 'image:rocky9');
	const touches = await page.textContent('#edit-touches');
	assert.match(touches, /touches the 1 member/);
	assert.match(touches, /gpu01/);
	await page.click('#edit-save');
	await until(async () => (await c.ok('GET', '/groups/gpu')).profile === 'rocky9', 5000, 'group profile');
	const p = await c.ok('GET', '/profiles/rocky9');
	assert.equal(p.image, 'rocky9');
	// The member now boots that image.
	const script = await c.ok('GET', '/nodes/gpu01/bootscript');
	assert.match(script, /# profile rocky9 \(from group gpu\), image rocky9/);
	assert.match(script, /files\/images\/rocky9\/vmlinuz/);
	// The page shows it without a reload.
	await page.waitForSelector('#groups-table tr[data-name="gpu"] >> text=rocky9');
	assert.deepEqual(page.errors, []);
});

test('deleting an image in use is refused with the reason', async () => {
	await page.goto(c.url + '/ui/#/config/images/rocky9');
	await page.click('#delete-btn');
	await page.click('#delete-confirm');
	await page.waitForSelector('#delete-error:not([hidden])');
	assert.match(await page.textContent('#delete-error'), /in use by profile rocky9/);
	assert.equal((await c.api('GET', '/images/rocky9')).status, 200);
});

test('a new profile and the defaults, with the nodes they touch', async () => {
	await page.goto(c.url + '/ui/#/config/profiles');
	await page.click('#new-profile');
	await page.fill('#new-name', 'debug');
	await page.selectOption('#new-image', 'rocky9');
	await page.fill('#new-params', 'debug loglevel=7');
	await page.click('#create-form button[type=submit]');
	await page.waitForSelector('#profiles-table tr[data-name="debug"]');
	assert.equal((await c.ok('GET', '/profiles/debug')).params, 'debug loglevel=7');

	await page.goto(c.url + '/ui/#/config/defaults');
	await page.selectOption('#def-profile', 'debug');
	// r7n1's groups name no profile: the default is its profile.
	assert.match(await page.textContent('#def-touches'), /1 node without a node or group profile: r7n1/);
	await page.click('#defaults-form button[type=submit]');
	await until(async () => (await c.ok('GET', '/defaults')).profile === 'debug', 5000, 'defaults profile');
	assert.match(await c.ok('GET', '/nodes/r7n1/bootscript'), /\(from default\)/);
	assert.deepEqual(page.errors, []);
});

test('deleting an unused group works', async () => {
	await c.ok('POST', '/groups', { name: 'spare' });
	await page.goto(c.url + '/ui/#/config/groups/spare');
	await page.click('#delete-btn');
	await page.click('#delete-confirm');
	await until(async () => (await c.api('GET', '/groups/spare')).status === 404, 5000, 'group deleted');
	await page.waitForFunction(() => !document.querySelector('#groups-table tr[data-name="spare"]'));
});
