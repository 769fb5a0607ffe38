// The operator API (/api/v1) as the page uses it: the session's token,
// its scope, and one request function that turns error bodies into
// ApiError {status, code, field, message}.

const KEY = 'corral.token';

export const session = {
	token: sessionStorage.getItem(KEY),
	// Until the scope is known, the page behaves as read-only.
	readOnly: true,
	onUnauthorized: () => {},
};

export class ApiError extends Error {
	constructor(status, body) {
		const e = (body && typeof body === 'object' && body.error) || {};
		super(e.message || (typeof body === 'string' && body) || `HTTP ${status}`);
		this.status = status;
		this.code = e.code || '';
		this.field = e.field || null;
	}
}

export function saveToken(token) {
	session.token = token;
	sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
	session.token = null;
	session.readOnly = true;
	sessionStorage.removeItem(KEY);
}

export const enc = encodeURIComponent;

// method, path under /api/v1, optional JSON body.  Resolves to the parsed
// JSON (or text for text/plain, null for 204).
export async function api(method, path, body, { token = session.token, signal } = {}) {
	if (method !== 'GET' && session.readOnly) {
		// A read-only session never sends a change, not even to be refused.
		throw new ApiError(403, { error: { code: 'forbidden', message: 'read-only session: nothing was sent' } });
	}
	const headers = { Authorization: 'Bearer ' + token };
	const init = { method, headers, cache: 'no-store', signal };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let r;
	try {
		r = await fetch('/api/v1' + path, init);
	} catch (e) {
		if (e.name === 'AbortError') throw e;
		throw new ApiError(0, { error: { code: 'network', message: 'corrald did not answer (' + e.message + ')' } });
	}
	const type = r.headers.get('Content-Type') || '';
	let data = null;
	if (r.status !== 204) data = type.startsWith('application/json') ? await r.json().catch(() => null) : await r.text();
	if (r.status === 401 && token === session.token) session.onUnauthorized();
	if (!r.ok) throw new ApiError(r.status, data);
	return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);

// Checks a token and finds its scope (GET /whoami: nothing is written,
// nothing is probed).
export async function probe(token) {
	const who = await get('/whoami', { token });
	return { readOnly: !who || who.scope !== 'admin' };
}
