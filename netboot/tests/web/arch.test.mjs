// Architecture-aware boot on the node page: where the node's arch came from
// (learned from iPXE's ${buildarch}, set by hand), and, when its profile has
// no image for that arch, the reason it waits, in the facts and as the
// timeline's blocked step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor } from './harness.mjs';

let c, ctx, page;
const ARM = 'x3000c0s9b0n0';
const MAC = macFor(0x3090);
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-x86');
	await c.ok('POST', '/profiles', { name: 'x86only', image: 'compute-x86' });
	await c.ok('POST', '/nodes', { name: ARM, profile: 'x86only', interfaces: [{ mac: MAC }] });
	await c.ok('POST', '/nodes', { name: 'x3000c0s9b0n1', arch: 'aarch64', profile: 'x86only', interfaces: [{ mac: macFor(0x3091) }] });
	// its iPXE asks with arch=${buildarch}: an arm64 machine
	const r = await c.nodeGet(`/boot/v1/bootscript?mac=${MAC}&arch=arm64`);
	assert.match(r.text, /no image for aarch64 in profile x86only/);
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('learned arch and the no-image reason on the node page', async () => {
	await page.goto(`${c.url}/ui/#/nodes/${ARM}`);
	await page.waitForSelector('#no-image');
	assert.equal(await page.textContent('#arch-source'), 'learned from iPXE');
	assert.match(await page.textContent('.facts'), /aarch64/);
	assert.equal(await page.textContent('#no-image'), 'no image for aarch64 in profile x86only: the node waits');
	await page.waitForFunction(() => /Blocked at the boot script: no image for aarch64 in profile x86only/.test(document.querySelector('#tl-summary')?.textContent || ''));
	assert.deepEqual(page.errors || [], []);
});

test('an arch set by hand says so', async () => {
	await page.goto(`${c.url}/ui/#/nodes/x3000c0s9b0n1`);
	await page.waitForSelector('#arch-source');
	assert.equal(await page.textContent('#arch-source'), 'set by hand');
	await page.waitForSelector('#no-image'); // its script would say so too
});
