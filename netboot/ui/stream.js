// GET /api/v1/stream read with fetch() and a ReadableStream: EventSource
// cannot send the Authorization header.  Parses Server-Sent Events,
// reconnects with the server's `retry:` delay (backing off while it fails),
// and reports a `resync` after every reconnection, since records sent
// while the page was away are lost.

import { session } from './api.js';
import { sleep } from './dom.js';

const STALL_MS = 45000; // corrald pings every 15 s

export function openStream({ onEvent, onState }) {
	let stopped = false;
	let ctrl = null;
	let retry = 2000;
	let failures = 0;
	let connectedOnce = false;

	async function once() {
		ctrl = new AbortController();
		let stall = null;
		const arm = () => {
			clearTimeout(stall);
			stall = setTimeout(() => ctrl.abort(), STALL_MS);
		};
		try {
			arm();
			const r = await fetch('/api/v1/stream', {
				headers: { Authorization: 'Bearer ' + session.token, Accept: 'text/event-stream' },
				cache: 'no-store',
				signal: ctrl.signal,
			});
			if (r.status === 401) {
				session.onUnauthorized();
				stopped = true;
				return;
			}
			if (!r.ok || !r.body) throw new Error('stream: HTTP ' + r.status);
			failures = 0;
			onState('live');
			if (connectedOnce) onEvent('resync', {});
			connectedOnce = true;
			const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
			let buf = '';
			let ev = { type: '', data: [] };
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				arm();
				buf += value;
				let nl;
				while ((nl = buf.search(/\r\n|\n|\r/)) >= 0) {
					const line = buf.slice(0, nl);
					buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
					if (line === '') {
						if (ev.data.length) dispatch(ev.type || 'message', ev.data.join('\n'));
						ev = { type: '', data: [] };
						continue;
					}
					if (line[0] === ':') continue; // comment (ping)
					const c = line.indexOf(':');
					const name = c < 0 ? line : line.slice(0, c);
					let val = c < 0 ? '' : line.slice(c + 1);
					if (val[0] === ' ') val = val.slice(1);
					if (name === 'event') ev.type = val;
					else if (name === 'data') ev.data.push(val);
					else if (name === 'retry' && /^\d+$/.test(val)) retry = Number(val);
				}
			}
		} catch (e) {
			if (stopped) return;
		} finally {
			clearTimeout(stall);
		}
	}

	function dispatch(type, text) {
		let data;
		try {
			data = JSON.parse(text);
		} catch {
			data = text;
		}
		onEvent(type, data);
	}

	(async () => {
		while (!stopped) {
			await once();
			if (stopped) break;
			failures++;
			onState('reconnecting');
			await sleep(Math.min(retry * Math.min(failures, 8), 30000));
		}
		onState('off');
	})();

	return {
		close() {
			stopped = true;
			if (ctrl) ctrl.abort();
		},
	};
}
