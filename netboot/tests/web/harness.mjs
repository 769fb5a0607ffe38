// Test harness for the web page: a real corrald on 127.0.0.1 with its own
// temporary store, file root and tokens, and Debian's Chromium driven by
// playwright-core.  Everything started here is stopped by its PID.
//
// corrald runs as installed: the web page and the API on a listener of
// their own over HTTPS (c.url, https://127.0.0.1:<api port>), with the
// self-signed certificate corrald makes at first start; the node-facing
// paths on plain HTTP (c.nodeUrl, c.port).  The tests trust that
// certificate and nothing else: node's requests take it as their only CA,
// and Chromium is told to accept exactly its public key
// (--ignore-certificate-errors-spki-list, the same SHA-256 of the public
// key that `corrald cert` shows and `corral --fingerprint` pins), so a
// page served with any other certificate fails.

import { spawn, execFileSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../../..');
export const BUILD = resolve(process.env.CORRAL_BUILD || join(REPO, 'build'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
	return new Promise((res, rej) => {
		const s = createServer();
		s.once('error', rej);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => res(port));
		});
	});
}

// Every corrald started here, stopped by its PID if the test process ends
// early (a signal, an uncaught error) before the tests' own cleanup.
const live = new Map(); // process -> its temporary directory
function stopAll() {
	for (const [p, dir] of live) {
		try {
			process.kill(p.pid, 'SIGTERM');
		} catch {
			/* already gone */
		}
		if (!process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true });
	}
	live.clear();
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE']) {
	process.on(sig, () => {
		stopAll();
		process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGPIPE: 13 }[sig] || 0));
	});
}

// The public-key pins of every corrald started here, for Chromium.
const pins = new Set();

// `corrald cert` as {fingerprint, sha256, ...} (its "key  value" lines).
function parseCert(out) {
	const info = {};
	for (const line of out.split('\n')) {
		if (!line.trim()) break;
		const m = /^(\S+)\s+(.*)$/.exec(line);
		if (m) info[m[1]] = m[2];
	}
	return info;
}

export class Corrald {
	constructor(dir, port, apiPort) {
		this.dir = dir;
		this.port = port; // the node-facing listener
		this.apiPort = apiPort;
		this.url = `https://127.0.0.1:${apiPort}`;
		this.nodeUrl = `http://127.0.0.1:${port}`;
		this.certFile = join(dir, 'tls.crt');
		this.conf = join(dir, 'corral.conf');
		this.files = join(dir, 'files');
		this.proc = null;
		this.admin = null;
		this.read = null;
	}

	run(...args) {
		return execFileSync(join(BUILD, 'corrald'), ['-c', this.conf, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
	}

	// Makes the certificate now (corrald would at start) and reads its fingerprints.
	cert() {
		const info = parseCert(this.run('cert'));
		if (!/^sha256:[0-9a-f]{64}$/.test(info.fingerprint || '')) throw new Error('corrald cert printed ' + JSON.stringify(info));
		this.fingerprint = info.fingerprint;
		this.certSha256 = info.sha256;
		this.certPem = readFileSync(this.certFile, 'utf8');
		pins.add(Buffer.from(info.fingerprint.slice(7), 'hex').toString('base64'));
		return info;
	}

	tokenCreate(name, readOnly = false) {
		const out = this.run('token', 'create', name, ...(readOnly ? ['--read-only'] : []));
		const lines = out.split('\n').filter((l) => l.trim());
		if (lines.length !== 1) throw new Error('token create printed ' + JSON.stringify(out));
		return lines[0].trim();
	}

	async start() {
		const log = join(this.dir, 'corrald.log');
		const { openSync } = await import('node:fs');
		const fd = openSync(log, 'a');
		// setpriv execs corrald (same PID) with a parent-death signal: it
		// stops even if this process is killed outright.
		const argv = [join(BUILD, 'corrald'), '-c', this.conf];
		const pd = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--'] : [];
		this.proc = spawn(pd.length ? pd[0] : argv[0], [...pd.slice(1), ...(pd.length ? argv : argv.slice(1))], { stdio: ['ignore', fd, fd] });
		live.set(this.proc, this.dir);
		this.proc.once('exit', () => live.delete(this.proc));
		this.log = log;
		const deadline = Date.now() + 20000;
		for (;;) {
			if (this.proc.exitCode !== null) throw new Error('corrald exited during start:\n' + this.logTail());
			try {
				const r = await fetch(this.nodeUrl + '/healthz');
				if (r.status === 200) return this;
			} catch {
				/* not yet */
			}
			if (Date.now() > deadline) throw new Error('corrald not healthy:\n' + this.logTail());
			await sleep(50);
		}
	}

	logTail(n = 4000) {
		try {
			return readFileSync(this.log, 'utf8').slice(-n);
		} catch {
			return '';
		}
	}

	async stop() {
		const p = this.proc;
		if (!p || p.exitCode !== null || p.signalCode) return;
		const done = new Promise((r) => p.once('exit', r));
		process.kill(p.pid, 'SIGTERM');
		const t = setTimeout(() => p.exitCode === null && process.kill(p.pid, 'SIGKILL'), 10000);
		await done;
		clearTimeout(t);
	}

	async cleanup() {
		await this.stop();
		if (!process.env.KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
	}

	// One HTTPS request to the operator listener, trusting corrald's own
	// certificate only; resolves to {status, headers, text}.
	https(method, path, headers = {}, data = null) {
		return new Promise((res, rej) => {
			const r = httpsRequest(this.url + path, { method, headers, ca: this.certPem }, (resp) => {
				let text = '';
				resp.setEncoding('utf8');
				resp.on('data', (d) => (text += d));
				resp.on('end', () => res({ status: resp.statusCode, headers: resp.headers, text }));
			});
			r.on('error', rej);
			if (data !== null) r.write(data);
			r.end();
		});
	}

	// An API request with the admin token (or the one given); resolves to
	// {status, body} (body parsed when JSON).
	async api(method, path, body, token = this.admin) {
		const headers = { Authorization: 'Bearer ' + token };
		let data = null;
		if (body !== undefined) {
			data = JSON.stringify(body);
			headers['Content-Type'] = 'application/json';
			headers['Content-Length'] = Buffer.byteLength(data);
		}
		const r = await this.https(method, '/api/v1' + path, headers, data);
		let parsed = r.text;
		if ((r.headers['content-type'] || '').startsWith('application/json') && r.text) parsed = JSON.parse(r.text);
		return { status: r.status, body: parsed };
	}

	async ok(method, path, body) {
		const r = await this.api(method, path, body);
		if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
		return r.body;
	}

	// Node-facing GET (no token); resolves to {status, text}.
	async nodeGet(path) {
		const r = await fetch(this.nodeUrl + path);
		return { status: r.status, text: await r.text() };
	}

	async nodePost(path, form) {
		const r = await fetch(this.nodeUrl + path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
		return { status: r.status, text: await r.text() };
	}

	addFile(rel, data) {
		const p = join(this.files, rel);
		mkdirSync(dirname(p), { recursive: true });
		writeFileSync(p, data);
	}

	// An image, a profile using it and a group using that, all named `name`.
	async seedImage(name = 'compute-v1', params = 'console=ttyS0') {
		this.addFile(`images/${name}/vmlinuz`, 'kernel ' + name);
		this.addFile(`images/${name}/initrd`, 'initrd ' + name);
		await this.ok('POST', '/images', { name, kernel: `images/${name}/vmlinuz`, initrd: `images/${name}/initrd`, params });
	}
}

// A started corrald with an admin and a read-only token.
export async function startCorrald(conf = {}) {
	const dir = mkdtempSync(join(tmpdir(), 'corral-web-'));
	const port = await freePort();
	const c = new Corrald(dir, port, await freePort());
	mkdirSync(c.files, { recursive: true });
	const sections = {
		server: { address: '127.0.0.1', port: String(port), api_port: String(c.apiPort), advertise_url: c.nodeUrl, threads: '4', log_level: 'info' },
		tls: { mode: 'auto', cert: c.certFile, key: join(dir, 'tls.key') },
		store: { path: join(dir, 'corral.db') },
		files: { root: c.files },
		auth: { key_file: join(dir, 'secret.key') },
		boot: { unknown_wait: '10' },
	};
	for (const [s, kv] of Object.entries(conf)) Object.assign((sections[s] ||= {}), kv);
	writeFileSync(c.conf, Object.entries(sections).map(([s, kv]) => `[${s}]\n` + Object.entries(kv).map(([k, v]) => `${k} = ${v}`).join('\n')).join('\n') + '\n');
	c.cert();
	c.admin = c.tokenCreate('web-admin');
	c.read = c.tokenCreate('web-read', true);
	try {
		await c.start();
	} catch (e) {
		await c.cleanup();
		throw e;
	}
	return c;
}

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Debian's Chromium with a fresh profile directory, accepting the
// certificates of the corralds started so far (by their public keys) and
// no other; trust: false accepts none of them.  Returns a browser context;
// close() also removes the profile.
export async function launch({ width = 1280, height = 800, trust = true } = {}) {
	const profile = mkdtempSync(join(tmpdir(), 'corral-chromium-'));
	const spki = trust && pins.size ? [`--ignore-certificate-errors-spki-list=${[...pins].join(',')}`] : [];
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: [...CHROMIUM_FLAGS, ...spki],
		viewport: { width, height },
		colorScheme: 'light',
		reducedMotion: 'reduce',
		timezoneId: 'UTC',
		locale: 'en-US',
	});
	const close = ctx.close.bind(ctx);
	ctx.close = async () => {
		await close().catch(() => {});
		rmSync(profile, { recursive: true, force: true });
	};
	return ctx;
}

// A page that fails the test on any script error or console error (a CSP
// violation shows up there too).
export async function newPage(ctx) {
	const page = ctx.pages()[0] || (await ctx.newPage());
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|403|404|409|422)/.test(m.text())) page.errors.push('console: ' + m.text());
	});
	page.setDefaultTimeout(10000);
	return page;
}

export async function signIn(page, c, token = c.admin) {
	await page.goto(c.url + '/ui/');
	await page.fill('#token', token);
	await page.click('#signin-btn');
	await page.waitForSelector('#top:not([hidden])');
	await page.waitForSelector('#live[data-state="live"]');
}

// Until fn() is truthy (or throws after timeout ms).
export async function until(fn, timeout = 10000, what = 'condition') {
	const deadline = Date.now() + timeout;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last) return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
		await sleep(50);
	}
}

export function macFor(n) {
	const b = [(n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, '0'));
	return '02:00:' + b.join(':');
}

export { sleep };
