// Screenshots for the README: docs/img/nodes.png (the nodes table) and
// docs/img/timeline.png (a node's boot timeline), 1280x800, from a real
// corrald seeded with a small cluster whose nodes really boot against it:
// boot script, kernel and initrd from /files, cloud-init with the token
// from the script, phone-home, each at a real pace, so every time on the
// page is one corrald recorded.  Some nodes end ready, some are still
// booting, two stop after their initrd (stalled after 2 minutes), one
// needs two boot-script retries, some never booted, two are disabled.
// Takes about 2.5 minutes (the stall has to be real).
//   node netboot/tests/web/screenshots.mjs [OUT_DIR]   (default docs/img)

import { request } from 'node:http';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startCorrald, launch, newPage, signIn, sleep, macFor, REPO } from './harness.mjs';

const OUT = resolve(process.argv[2] || resolve(REPO, 'docs/img'));
const STALL_S = 128; // the screenshots are taken this long after the first boot

// A node-side request from its own loopback source address (127.0.1.N):
// corrald finds a node's /files downloads by the address it fetched its
// boot script from, as it would on a real boot network.
function nodeReq(c, from, method, path, form) {
	return new Promise((res, rej) => {
		const body = form ? new URLSearchParams(form).toString() : null;
		const r = request(
			{ host: '127.0.0.1', port: c.port, method, path, localAddress: from, headers: body ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } : {} },
			(resp) => {
				let text = '';
				resp.setEncoding('utf8');
				resp.on('data', (d) => (text += d));
				resp.on('end', () => res({ status: resp.statusCode, text }));
			},
		);
		r.on('error', rej);
		if (body) r.write(body);
		r.end();
	});
}

// Deterministic jitter.
let seed = 7;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const between = (a, b) => a + (b - a) * rnd();

// One node's boot, as far as `until` (a stage) and with `retries`.
async function boot(c, n, { start, until = 'phone-home', retries = 0 }, t0) {
	const at = async (s) => {
		const wait = t0 + s * 1000 - Date.now();
		if (wait > 0) await sleep(wait);
	};
	let t = start;
	await at(t);
	const from = n.src;
	let script = (await nodeReq(c, from, 'GET', '/boot/v1/bootscript?mac=' + n.mac)).text;
	for (let r = 1; r <= retries; r++) {
		t += 5 * 2 ** (r - 1) + between(0.1, 0.4);
		await at(t);
		script = (await nodeReq(c, from, 'GET', `/boot/v1/bootscript?mac=${n.mac}&retry=${r}`)).text;
	}
	if (until === 'bootscript') return;
	const img = /\/files\/(\S+)/.exec(script.split('\n').find((l) => l.startsWith('kernel')))[1];
	const initrd = /\/files\/(\S+)/.exec(script.split('\n').find((l) => l.startsWith('initrd')))[1];
	const tok = /\/cloud-init\/([^/]+)\//.exec(script)[1];
	t += between(0.2, 0.6);
	await at(t);
	await nodeReq(c, from, 'GET', '/files/' + img);
	if (until === 'kernel') return;
	t += between(1.2, 2.6);
	await at(t);
	await nodeReq(c, from, 'GET', '/files/' + initrd);
	if (until === 'initrd') return;
	t += between(9, 16);
	await at(t);
	for (const f of ['meta-data', 'user-data', 'vendor-data']) {
		await nodeReq(c, from, 'GET', `/cloud-init/${tok}/${f}`);
		t += between(0.05, 0.2);
		await at(t);
	}
	if (until === 'cloud-init') return;
	t += between(12, 22);
	await at(t);
	await nodeReq(c, from, 'POST', `/phone-home/${tok}`, { instance_id: 'i-' + n.name, hostname: n.name });
}

async function seedCluster(c) {
	for (const [name, arch] of [
		['compute-rocky9.4', 'x86_64'],
		['compute-rocky9.5', 'x86_64'],
		['login-rocky9.4', 'x86_64'],
		['grace-sles15', 'aarch64'],
	]) {
		c.addFile(`images/${name}/vmlinuz`, 'kernel '.repeat(4096));
		c.addFile(`images/${name}/initrd.img`, 'initrd '.repeat(16384));
		await c.ok('POST', '/images', { name, arch, kernel: `images/${name}/vmlinuz`, initrd: `images/${name}/initrd.img`, params: arch === 'aarch64' ? 'console=ttyAMA0' : 'console=ttyS0,115200' });
	}
	await c.ok('POST', '/profiles', { name: 'compute', image: 'compute-rocky9.4', params: 'quiet mitigations=auto' });
	await c.ok('POST', '/profiles', { name: 'compute-next', image: 'compute-rocky9.5', params: 'quiet' });
	await c.ok('POST', '/profiles', { name: 'login', image: 'login-rocky9.4' });
	await c.ok('POST', '/profiles', { name: 'grace', image: 'grace-sles15', params: 'iommu.passthrough=1' });
	await c.ok('POST', '/groups', { name: 'compute', profile: 'compute', description: 'CPU compute nodes', metadata: { slurm: { partition: 'cpu' } }, user_data: '#cloud-config\npackages: [slurm-slurmd, munge]\nruncmd:\n  - systemctl enable --now slurmd\n' });
	await c.ok('POST', '/groups', { name: 'gpu', profile: 'compute-next', description: 'H100 nodes, next image', metadata: { slurm: { partition: 'gpu', gres: 'gpu:h100:4' } } });
	await c.ok('POST', '/groups', { name: 'grace', profile: 'grace', description: 'Grace Hopper (aarch64)' });
	await c.ok('POST', '/groups', { name: 'login', profile: 'login', description: 'Login nodes' });
	await c.ok('PUT', '/defaults', { profile: 'compute', metadata: { site: 'hpc-east', ntp: ['10.100.0.1'] }, user_data: '#cloud-config\ntimezone: UTC\n' });

	const nodes = [];
	let nid = 1;
	const add = (name, groups, arch = 'x86_64', extra = {}) => {
		const i = nodes.length;
		nodes.push({ name, nid: nid++, arch, role: groups[0] === 'login' ? 'login' : 'compute', groups, interfaces: [{ mac: macFor(0x5254_0000 + i + 1).replace(/^02:00/, '52:54'), ip: `10.100.${Math.floor(i / 200)}.${(i % 200) + 11}` }], ...extra });
	};
	for (let s = 0; s < 12; s++) for (let n = 0; n < 4; n++) add(`x1000c0s${s}b0n${n}`, ['compute', s < 6 ? 'rack1' : 'rack2']);
	for (let s = 0; s < 4; s++) for (let n = 0; n < 4; n++) add(`x1000c1s${s}b0n${n}`, ['gpu', 'compute', 'rack2']);
	for (let s = 0; s < 4; s++) for (let n = 0; n < 2; n++) add(`x1001c0s${s}b0n${n}`, ['grace', 'rack3'], 'aarch64');
	add('login01', ['login']);
	add('login02', ['login']);
	await c.ok('POST', '/nodes/import', { nodes });
	return nodes.map((n, i) => ({ name: n.name, mac: n.interfaces[0].mac, src: `127.0.1.${i + 1}` }));
}

async function main() {
	mkdirSync(OUT, { recursive: true });
	const c = await startCorrald();
	let ctx;
	try {
		const nodes = await seedCluster(c);
		const by = Object.fromEntries(nodes.map((n) => [n.name, n]));
		// What each node does; the rest boot to ready.
		const plan = new Map([
			['x1000c0s1b0n0', { start: 0, until: 'initrd' }], // stalls after its initrd
			['x1000c1s2b0n1', { start: 1.5, until: 'initrd' }],
			['x1000c0s1b0n3', { start: 55, retries: 2 }], // the timeline screenshot
			['x1000c0s0b0n2', { start: STALL_S - 14, until: 'cloud-init' }],
			['x1000c0s1b0n2', { start: STALL_S - 3, until: 'kernel' }],
			['x1000c0s2b0n3', { start: STALL_S - 6, until: 'initrd' }],
			['x1000c1s0b0n3', { start: STALL_S - 18, until: 'cloud-init' }],
			['x1000c0s3b0n1', { start: STALL_S - 2, until: 'bootscript' }],
		]);
		const never = new Set(['x1000c0s2b0n0', 'x1000c0s4b0n0', 'x1000c0s4b0n1', 'x1000c1s3b0n2', 'login02', 'x1001c0s3b0n1']);
		const disabled = ['x1000c0s2b0n1', 'x1000c0s9b0n3'];
		for (const d of disabled) await c.ok('PATCH', '/nodes/' + d, { enabled: false });
		const t0 = Date.now() + 500;
		const jobs = [];
		let k = 0;
		for (const n of nodes) {
			if (never.has(n.name) || disabled.includes(n.name)) continue;
			const p = plan.get(n.name) || { start: 20 + (k++ % 60) * 1.1 + between(0, 1) };
			jobs.push(boot(c, n, p, t0));
		}
		// A disabled node that asked anyway, and machines nobody registered.
		jobs.push(sleep(30000).then(() => nodeReq(c, '127.0.2.1', 'GET', '/boot/v1/bootscript?mac=' + by['x1000c0s2b0n1'].mac)));
		for (const m of ['52:54:00:9e:01:a1', '52:54:00:9e:01:a2', 'b8:3f:d2:11:40:07']) jobs.push(sleep(between(5000, 60000)).then(() => nodeReq(c, '127.0.2.2', 'GET', '/boot/v1/bootscript?mac=' + m)));
		console.log(`booting ${jobs.length} nodes against corrald; screenshots in ${STALL_S} s`);
		await Promise.all(jobs);
		const left = t0 + (STALL_S + 1) * 1000 - Date.now();
		if (left > 0) await sleep(left);

		ctx = await launch({ width: 1280, height: 800 });
		const page = await newPage(ctx);
		await signIn(page, c);
		await page.waitForSelector('#node-rows tr');
		await page.evaluate(() => document.activeElement && document.activeElement.blur());
		await sleep(300);
		await page.screenshot({ path: resolve(OUT, 'nodes.png') });

		await page.goto(`${c.url}/ui/#/nodes/x1000c0s1b0n3`);
		await page.waitForSelector('#timeline .tl-stop[data-stage="phone-home"]');
		await page.click('#timeline details summary');
		await page.evaluate(() => document.activeElement && document.activeElement.blur());
		await page.evaluate(() => window.scrollTo(0, document.querySelector('.node-head').getBoundingClientRect().top + window.scrollY - 68));
		await sleep(300);
		await page.screenshot({ path: resolve(OUT, 'timeline.png') });
		if (page.errors.length) throw new Error('page errors: ' + page.errors.join('\n'));
		console.log(`wrote ${resolve(OUT, 'nodes.png')} and ${resolve(OUT, 'timeline.png')}`);
	} finally {
		await ctx?.close();
		await c.cleanup();
	}
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
