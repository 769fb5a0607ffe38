// A tiny Redfish service standing in for one BMC, on loopback (node's
// http module, in the test process: stopped with server.close()).  It
// speaks just enough Redfish for discovery, power and boot: the service
// root (public), Systems with one System (PowerState, HostName, the
// ComputerSystem.Reset action and its allowed types, Boot with its
// allowed targets, EthernetInterfaces), one Manager with its own NIC.
// POST Reset changes PowerState; PATCH Boot stores the override.  Every
// path but the root needs HTTP Basic with the given user and password.
// failing: every answer is a 500 (a BMC in trouble).
import { createServer } from 'node:http';

export async function startFakeBmc({ host = '127.0.0.1', port: listenPort = 0, failing = false, user = 'admin', password = 'secret', hostName = 'rf-node1', mac = '52:54:00:aa:00:01', bmcMac = '52:54:00:bb:00:01', power = 'Off' } = {}) {
	const state = {
		power,
		boot: { BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideMode: 'UEFI' },
		resets: [], // ResetTypes received
		patches: [], // Boot bodies received
		log: [], // "METHOD path"
		authFailures: 0,
	};
	const SYS = '/redfish/v1/Systems/1';
	const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];

	function system() {
		return {
			'@odata.id': SYS,
			'@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem',
			Id: '1',
			Name: 'Fake system',
			HostName: hostName,
			Manufacturer: 'Corral Test',
			Model: 'Fake 1U',
			SerialNumber: 'FAKE-0001',
			UUID: '00000000-0000-4000-8000-000000000001',
			PowerState: state.power,
			Boot: { ...state.boot, 'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd', 'Cd'] },
			EthernetInterfaces: { '@odata.id': SYS + '/EthernetInterfaces' },
			Actions: {
				'#ComputerSystem.Reset': { target: SYS + '/Actions/ComputerSystem.Reset', 'ResetType@Redfish.AllowableValues': RESET_TYPES },
			},
		};
	}

	const routes = {
		'/redfish/v1': () => ({
			'@odata.id': '/redfish/v1',
			'@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
			Id: 'RootService',
			Name: 'Root Service',
			RedfishVersion: '1.6.0',
			UUID: '00000000-0000-4000-8000-0000000000b1',
			Vendor: 'FakeVendor',
			Systems: { '@odata.id': '/redfish/v1/Systems' },
			Managers: { '@odata.id': '/redfish/v1/Managers' },
			Chassis: { '@odata.id': '/redfish/v1/Chassis' },
		}),
		'/redfish/v1/Systems': () => ({ '@odata.id': '/redfish/v1/Systems', Members: [{ '@odata.id': SYS }], 'Members@odata.count': 1 }),
		[SYS]: system,
		[SYS + '/EthernetInterfaces']: () => ({ '@odata.id': SYS + '/EthernetInterfaces', Members: [{ '@odata.id': SYS + '/EthernetInterfaces/eth0' }], 'Members@odata.count': 1 }),
		[SYS + '/EthernetInterfaces/eth0']: () => ({ '@odata.id': SYS + '/EthernetInterfaces/eth0', Id: 'eth0', Name: 'eth0', MACAddress: mac.toUpperCase(), InterfaceEnabled: true, IPv4Addresses: [] }),
		'/redfish/v1/Managers': () => ({ '@odata.id': '/redfish/v1/Managers', Members: [{ '@odata.id': '/redfish/v1/Managers/1' }] }),
		'/redfish/v1/Managers/1': () => ({ '@odata.id': '/redfish/v1/Managers/1', Id: '1', Model: 'FakeBMC 2', FirmwareVersion: '2.0.1', EthernetInterfaces: { '@odata.id': '/redfish/v1/Managers/1/EthernetInterfaces' } }),
		'/redfish/v1/Managers/1/EthernetInterfaces': () => ({ Members: [{ '@odata.id': '/redfish/v1/Managers/1/EthernetInterfaces/1' }] }),
		'/redfish/v1/Managers/1/EthernetInterfaces/1': () => ({ Id: '1', Name: 'Manager NIC', MACAddress: bmcMac }),
		'/redfish/v1/Chassis': () => ({ '@odata.id': '/redfish/v1/Chassis', Members: [{ '@odata.id': '/redfish/v1/Chassis/1' }] }),
	};

	const expected = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
	const server = createServer((req, res) => {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			const path = req.url.split('?')[0].replace(/\/+$/, '');
			state.log.push(`${req.method} ${path}`);
			const send = (code, obj) => {
				const text = obj === undefined ? '' : JSON.stringify(obj);
				res.writeHead(code, { 'Content-Type': 'application/json', 'OData-Version': '4.0', 'Content-Length': Buffer.byteLength(text) });
				res.end(text);
			};
			const err = (code, msg) => send(code, { error: { code: 'Base.1.8.GeneralError', message: msg } });
			if (failing) return err(500, 'internal error'); // a BMC in trouble
			if (path !== '/redfish/v1' && req.headers.authorization !== expected) {
				state.authFailures++;
				res.setHeader('WWW-Authenticate', 'Basic realm="fake"');
				return err(401, 'authentication required');
			}
			let json = null;
			if (body) {
				try {
					json = JSON.parse(body);
				} catch {
					return err(400, 'malformed JSON');
				}
			}
			if (req.method === 'POST' && path === SYS + '/Actions/ComputerSystem.Reset') {
				const t = json && json.ResetType;
				if (!RESET_TYPES.includes(t)) return err(400, 'bad ResetType');
				state.resets.push(t);
				state.power = t === 'ForceOff' || t === 'GracefulShutdown' ? 'Off' : 'On';
				res.writeHead(204);
				return res.end();
			}
			if (req.method === 'PATCH' && path === SYS) {
				if (!json || typeof json.Boot !== 'object') return err(400, 'only Boot can be changed');
				state.patches.push(json.Boot);
				for (const k of ['BootSourceOverrideTarget', 'BootSourceOverrideEnabled', 'BootSourceOverrideMode']) if (k in json.Boot) state.boot[k] = json.Boot[k];
				return send(200, system());
			}
			if (req.method !== 'GET') return err(405, 'method not allowed');
			const r = routes[path];
			if (!r) return err(404, 'no such resource');
			return send(200, r());
		});
	});
	await new Promise((ok, bad) => {
		server.once('error', bad);
		server.listen(listenPort, host, ok);
	});
	const port = server.address().port;
	return {
		port,
		state,
		host,
		stop: () =>
			new Promise((ok) => {
				server.close(() => ok());
				server.closeAllConnections();
			}),
	};
}
