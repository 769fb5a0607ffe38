// Every control on every view has a label, and the main paths work from
// the keyboard alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor } from './harness.mjs';

let c, ctx, page;
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-v1');
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-v1' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute' });
	await c.ok('POST', '/nodes', { name: 'n001', groups: ['compute'], interfaces: [{ mac: macFor(1) }] });
	await c.nodeGet('/boot/v1/bootscript?mac=' + macFor(1));
	await c.nodeGet('/boot/v1/bootscript?mac=' + macFor(2));
	ctx = await launch({ width: 1024, height: 768 });
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

async function unlabelled() {
	return page.evaluate(() => {
		const bad = [];
		for (const el of document.querySelectorAll('input, select, textarea')) {
			if (el.type === 'hidden' || el.closest('[hidden]')) continue;
			const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
			if (!named) bad.push(el.outerHTML.slice(0, 80));
		}
		for (const el of document.querySelectorAll('button, a[href]')) {
			if (el.closest('[hidden]')) continue;
			if (!(el.textContent.trim() || el.getAttribute('aria-label') || el.querySelector('img[alt]:not([alt=""])'))) bad.push(el.outerHTML.slice(0, 80));
		}
		return bad;
	});
}

test('every control has a label, on every view', async () => {
	const views = [
		['#/nodes', '#node-rows tr'],
		['#/nodes/n001', '#cfg-form'],
		['#/config/groups', '#groups-table'],
		['#/config/groups/compute', '#edit-form'],
		['#/config/profiles/compute', '#edit-form'],
		['#/config/images/compute-v1', '#edit-form'],
		['#/config/defaults', '#defaults-form'],
		['#/discovered', '#discovered-table'],
		['#/bmcs', '#discover-form'],
	];
	for (const [hash, ready] of views) {
		await page.goto(c.url + '/ui/' + hash);
		await page.waitForSelector(ready);
		assert.deepEqual(await unlabelled(), [], hash);
	}
	for (const kind of ['group', 'profile', 'image']) {
		await page.goto(`${c.url}/ui/#/config/${kind}s`);
		await page.click(`#new-${kind}`);
		await page.waitForSelector('#create-form');
		assert.deepEqual(await unlabelled(), [], 'new ' + kind);
	}
	await page.click('#signout');
	await page.waitForSelector('#signin-form');
	assert.deepEqual(await unlabelled(), [], 'sign-in');
});

test('keyboard only: sign in, search, open a node, change its parameters', async () => {
	await page.goto(c.url + '/ui/#/nodes');
	await page.waitForSelector('#signin-form');
	// The token field has the focus already.
	assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
	await page.keyboard.type(c.admin);
	await page.keyboard.press('Enter');
	await page.waitForSelector('#node-rows tr');
	// Tab from the top reaches the search box, then the node link.
	await page.evaluate(() => document.activeElement.blur());
	let reached = null;
	for (let i = 0; i < 40 && reached !== 'node-search'; i++) {
		await page.keyboard.press('Tab');
		reached = await page.evaluate(() => document.activeElement.id);
	}
	assert.equal(reached, 'node-search');
	await page.keyboard.type('n001');
	await page.waitForFunction(() => /of 1 node\b/.test(document.querySelector('#node-count').textContent));
	let onLink = false;
	for (let i = 0; i < 20 && !onLink; i++) {
		await page.keyboard.press('Tab');
		onLink = await page.evaluate(() => document.activeElement.classList.contains('node-link'));
	}
	assert.ok(onLink, 'the node link is reachable by Tab');
	await page.keyboard.press('Enter');
	await page.waitForSelector('#cfg-params');
	await page.focus('#cfg-params');
	await page.keyboard.type('console=ttyS0');
	await page.keyboard.press('Enter'); // submits the form
	for (let i = 0; i < 50; i++) {
		if ((await c.ok('GET', '/nodes/n001')).params === 'console=ttyS0') break;
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.equal((await c.ok('GET', '/nodes/n001')).params, 'console=ttyS0');
	assert.deepEqual(page.errors, []);
});
