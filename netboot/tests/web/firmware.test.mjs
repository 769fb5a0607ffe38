// BMC firmware on the BMCs page, against two real corral-vbmc processes
// (loopback, no QEMU behind them) and corrald with its two listeners: the
// vBMCs fetch the image from the node listener (plain HTTP), the page
// reads the API over HTTPS.  One vBMC goes from 1.0 to 2.0; the other
// refuses.  The page must list the image and show the job with each BMC's
// result, the versions before and after, and the refusing BMC's message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BUILD, startCorrald, launch, newPage, signIn, until, sleep } from './harness.mjs';

const B = 100 + Math.floor(Math.random() * 150);
const OK = `127.${B}.7.1`;
const REFUSE = `127.${B}.7.2`;
const PORT = 8443;
let c, ctx, page;
const vbmcs = [];

function startVbmc(addr, name, extra = []) {
	const tail = addr.split('.').slice(1).map((x) => Number(x).toString(16).padStart(2, '0')).join(':');
	const p = spawn(join(BUILD, 'corral-vbmc'), ['--listen', `${addr}:${PORT}`, '--qmp', `/nonexistent/${name}.sock`, '--mac', `52:54:00:${tail}`, '--bmc-mac', `02:aa:00:${tail}`, '--name', name, '--update-apply-ms', '300', ...extra], { stdio: 'ignore' });
	vbmcs.push(p);
	return p;
}

async function vbmcVersion(addr) {
	const r = await fetch(`http://${addr}:${PORT}/redfish/v1/UpdateService/FirmwareInventory/BMC`, { headers: { Authorization: 'Basic ' + Buffer.from('admin:admin').toString('base64') } });
	return (await r.json()).Version;
}

async function job(path, body) {
	let j = await c.ok('POST', path, body);
	await until(async () => (j = await c.ok('GET', `/jobs/${j.id}`)).state === 'done', 30000, `job ${j.id}`);
	return j;
}

before(async () => {
	startVbmc(OK, 'fw-ok');
	startVbmc(REFUSE, 'fw-refuse', ['--update-mode', 'refuse']);
	await until(async () => {
		try {
			return (await vbmcVersion(OK)) === '1.0' && (await vbmcVersion(REFUSE)) === '1.0';
		} catch {
			return false;
		}
	}, 15000, 'the vBMCs to answer');
	c = await startCorrald({ redfish: { connect_timeout_ms: '1000', timeout_ms: '3000', update_timeout: '30' } });
	await c.ok('POST', '/credentials', { name: 'default', username: 'admin', password: 'admin' });
	const d = await job('/discovery', { targets: [`${OK}-${REFUSE}`], port: PORT, scheme: 'http' });
	assert.equal(d.found, 2, JSON.stringify(d));
	const content = Buffer.concat([Buffer.from('corral-vbmc-firmware model=corral-vbmc version=2.0\n'), Buffer.alloc(2048, 7)]).toString('base64');
	await c.ok('POST', '/firmware', { name: 'vbmc-2.0', model: 'corral-vbmc', version: '2.0', content });
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
	for (const p of vbmcs) p.kill('SIGTERM');
	await sleep(100);
});

test('the BMCs page lists the firmware image', async () => {
	await page.click('a[data-nav="bmcs"]');
	await page.waitForSelector('#bmc-firmware table.fw-images tr[data-name="vbmc-2.0"]');
	const row = await page.textContent('#bmc-firmware tr[data-name="vbmc-2.0"]');
	assert.match(row, /corral-vbmc/);
	assert.match(row, /2\.0/);
	assert.ok(await page.isVisible('#fw-no-jobs'));
});

test('an update job shows each BMC: updated 1.0 → 2.0, and the refusal with its message', async () => {
	const j = await job('/firmware/vbmc-2.0/update', { targets: [OK, REFUSE] });
	assert.equal(await vbmcVersion(OK), '2.0');
	assert.equal(await vbmcVersion(REFUSE), '1.0');
	// The job's end reloads the page's BMCs (live update), and the firmware card with them.
	const sel = `#bmc-firmware .fw-job[data-job="${j.id}"]`;
	await page.waitForSelector(sel);
	const ok = await page.textContent(`${sel} tr[data-address="${OK}"]`);
	assert.match(ok, /updated/);
	assert.match(ok, /1\.0/);
	assert.match(ok, /2\.0/);
	const bad = await page.textContent(`${sel} tr[data-address="${REFUSE}"]`);
	assert.match(bad, /refused/);
	assert.match(bad, /update policy/);
	assert.match(await page.textContent(`${sel} h3`), /1 refused or failed/);
});
