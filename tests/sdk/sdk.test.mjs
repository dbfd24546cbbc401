// Auth0's official Node SDK (the npm package auth0, as package-lock.json
// pins it, unchanged) against metakeep over https: the calls of the README's
// walk-through and docs/api.md, made the way real client code makes them.
// Run by test_sdk.sh, which starts the service and sets:
//   MK_SDK_DOMAIN         127.0.0.1:PORT, the https port of the web server
//   NODE_EXTRA_CA_CERTS   the self-signed certificate it serves (trust, not
//                         NODE_TLS_REJECT_UNAUTHORIZED=0, not a fetch override)
//   MK_SDK_ADMIN_TOKEN    a token of metakeepctl's (every scope): only to make
//                         the machine clients and their grants below, as an
//                         operator does once
// Everything else goes through client credentials, as scripts do:
// ManagementClient({domain, clientId, clientSecret}) asks POST /oauth/token
// for an access token (a JWT) and calls the API with it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  ManagementClient, AuthenticationClient, ManagementApiError, AuthApiError,
} from 'auth0';

const env = process.env;
const domain = env.MK_SDK_DOMAIN;
assert.ok(domain, 'MK_SDK_DOMAIN is not set (run test_sdk.sh)');
assert.ok(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS is not set');
assert.notEqual(env.NODE_TLS_REJECT_UNAUTHORIZED, '0', 'certificate checks must stay on');
assert.ok(env.MK_SDK_ADMIN_TOKEN, 'MK_SDK_ADMIN_TOKEN is not set');
// What the SDK asks for by default: Auth0's Management API at that host.
const audience = `https://${domain}/api/v2/`;

// Every scope the walk-through needs, and a grant of one scope.
const FULL = ['read:users', 'create:users', 'update:users', 'delete:users',
  'read:clients', 'create:clients', 'update:clients', 'delete:clients', 'read:client_keys'];
const NARROW = ['read:users'];

const admin = new ManagementClient({ domain, token: env.MK_SDK_ADMIN_TOKEN });
// machine, narrow: {id, secret, grant} of the two machine clients.
const machine = {};
const narrowc = {};
let mgmt;
let narrow;

// machineClient(NAME, SCOPES, INTO): a client (app_type non_interactive)
// and its client grant for the Management API, made through the SDK.
async function machineClient(name, scopes, into) {
  const c = await admin.clients.create({
    name, app_type: 'non_interactive', grant_types: ['client_credentials'],
  });
  assert.equal(c.status, 201);
  assert.equal(typeof c.data.client_secret, 'string');
  const g = await admin.clientGrants.create({ client_id: c.data.client_id, audience, scope: scopes });
  assert.equal(g.status, 201);
  assert.deepEqual([...g.data.scope].sort(), [...scopes].sort());
  Object.assign(into, { id: c.data.client_id, secret: c.data.client_secret, grant: g.data.id });
}

before(async () => {
  await machineClient('sdk machine', FULL, machine);
  await machineClient('sdk narrow', NARROW, narrowc);
  mgmt = new ManagementClient({ domain, clientId: machine.id, clientSecret: machine.secret });
  narrow = new ManagementClient({ domain, clientId: narrowc.id, clientSecret: narrowc.secret });
});

const CONN = 'Username-Password-Authentication';
const email = `sdk.${process.pid}.${Date.now()}@example.com`;

// rejects(PROMISE, STATUS, ERRORCODE): the SDK throws its ManagementApiError
// with metakeep's Auth0-shaped error body.
async function rejects(promise, status, errorCode) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ManagementApiError, `a ManagementApiError, not ${e && e.name}: ${e}`);
    assert.equal(e.statusCode, status);
    assert.equal(e.errorCode, errorCode);
    assert.equal(typeof e.message, 'string');
    return true;
  });
}

test('the walk-through with a user: create, PATCH metadata, search, read, delete', async (t) => {
  let id;

  await t.test('users.create with user_metadata and app_metadata', async () => {
    const r = await mgmt.users.create({
      email, connection: CONN,
      user_metadata: { hobby: 'surfing' },
      app_metadata: { plan: 'full' },
    });
    assert.equal(r.status, 201);
    assert.match(r.data.user_id, /^auth0\|/);
    assert.equal(r.data.email, email);
    assert.deepEqual(r.data.user_metadata, { hobby: 'surfing' });
    assert.deepEqual(r.data.app_metadata, { plan: 'full' });
    id = r.data.user_id;
  });

  await t.test('users.update merges root keys (addresses next to hobby)', async () => {
    const home = { street: '123 Main Street', city: 'Anytown' };
    const r = await mgmt.users.update({ id }, { user_metadata: { addresses: { home } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.data.user_metadata, { hobby: 'surfing', addresses: { home } });
  });

  await t.test('users.update replaces below the root (the whole addresses object)', async () => {
    const addresses = {
      home: { street: '123 Main Street' },
      work: { street: '1 Office Park', city: 'Worktown' },
    };
    const r = await mgmt.users.update({ id }, { user_metadata: { addresses } });
    assert.deepEqual(r.data.user_metadata, { hobby: 'surfing', addresses });
  });

  await t.test('users.update: null deletes a key', async () => {
    const r = await mgmt.users.update({ id }, { user_metadata: { hobby: null } });
    assert.equal(r.data.user_metadata.hobby, undefined);
    assert.ok(r.data.user_metadata.addresses);
  });

  await t.test('users.getAll with q finds it (search_engine v3)', async () => {
    const r = await mgmt.users.getAll({
      q: `email:"${email}" AND app_metadata.plan:full`,
      search_engine: 'v3',
      fields: 'user_id,email',
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, [{ user_id: id, email }]);
  });

  await t.test('users.getAll with include_totals', async () => {
    const r = await mgmt.users.getAll({ q: `email:"${email}"`, include_totals: true, per_page: 10 });
    assert.equal(r.data.total, 1);
    assert.equal(r.data.users[0].user_id, id);
  });

  await t.test('usersByEmail.getByEmail', async () => {
    const r = await mgmt.usersByEmail.getByEmail({ email });
    assert.deepEqual(r.data.map((u) => u.user_id), [id]);
  });

  await t.test('users.update: {} deletes the whole metadata object', async () => {
    await mgmt.users.update({ id }, { user_metadata: {} });
    const r = await mgmt.users.update({ id }, { app_metadata: {} });
    assert.equal(r.data.user_metadata, undefined);
    assert.equal(r.data.app_metadata, undefined);
  });

  await t.test('users.get reads it as stored', async () => {
    const r = await mgmt.users.get({ id });
    assert.equal(r.status, 200);
    assert.equal(r.data.user_id, id);
    assert.equal(r.data.user_metadata, undefined);
  });

  await t.test('bad metadata: 400 invalid_body, nothing changed', async () => {
    await rejects(mgmt.users.update({ id }, { user_metadata: 'not an object' }), 400, 'invalid_body');
    const r = await mgmt.users.get({ id });
    assert.equal(r.data.user_metadata, undefined);
  });

  await t.test('a scope the token lacks: 403 insufficient_scope, nothing deleted', async () => {
    const r = await narrow.users.get({ id });
    assert.equal(r.data.user_id, id);
    await rejects(narrow.users.delete({ id }), 403, 'insufficient_scope');
    await rejects(narrow.users.update({ id }, { user_metadata: { a: '1' } }), 403, 'insufficient_scope');
    assert.equal((await mgmt.users.get({ id })).data.user_id, id);
  });

  await t.test('users.delete, then users.get is 404 inexistent_user', async () => {
    const r = await mgmt.users.delete({ id });
    assert.equal(r.status, 204);
    await rejects(mgmt.users.get({ id }), 404, 'inexistent_user');
  });
});

test('AuthenticationClient: the client-credentials grant', async (t) => {
  await t.test('oauth.clientCredentialsGrant gets a Bearer JWT for the API', async () => {
    const auth = new AuthenticationClient({ domain, clientId: machine.id, clientSecret: machine.secret });
    const r = await auth.oauth.clientCredentialsGrant({ audience });
    assert.equal(r.status, 200);
    assert.equal(r.data.token_type, 'Bearer');
    assert.ok(Number.isInteger(r.data.expires_in) && r.data.expires_in > 0);
    assert.deepEqual(r.data.scope.split(' ').sort(), [...FULL].sort());
    const [head, body, sig] = r.data.access_token.split('.');
    assert.ok(sig, 'a JWT: header.payload.signature');
    const h = JSON.parse(Buffer.from(head, 'base64url'));
    const p = JSON.parse(Buffer.from(body, 'base64url'));
    assert.equal(h.alg, 'RS256');
    assert.equal(typeof h.kid, 'string');
    assert.equal(p.sub, `${machine.id}@clients`);
    assert.equal(p.azp, machine.id);
    assert.equal(p.gty, 'client-credentials');
    assert.deepEqual([].concat(p.aud), [audience]);
    assert.equal(p.exp - p.iat, r.data.expires_in);
    // The token works as a static one too.
    const withToken = new ManagementClient({ domain, token: r.data.access_token });
    assert.equal((await withToken.users.getAll({ per_page: 1 })).status, 200);
  });

  await t.test('a wrong secret is refused (401)', async () => {
    const auth = new AuthenticationClient({ domain, clientId: machine.id, clientSecret: 'x'.repeat(64) });
    await assert.rejects(auth.oauth.clientCredentialsGrant({ audience }), (e) => {
      assert.ok(e instanceof AuthApiError, `an AuthApiError, not ${e && e.name}: ${e}`);
      assert.equal(e.statusCode, 401);
      return true;
    });
  });

  await t.test('another audience than the API is refused (403 access_denied)', async () => {
    const auth = new AuthenticationClient({ domain, clientId: machine.id, clientSecret: machine.secret });
    await assert.rejects(auth.oauth.clientCredentialsGrant({ audience: 'https://elsewhere.example/api/' }),
      (e) => e instanceof AuthApiError && e.statusCode === 403 && e.error === 'access_denied');
  });
});

test('a client\'s client_metadata: create, read, update, delete', async (t) => {
  let cid;

  await t.test('clients.create with client_metadata', async () => {
    const r = await mgmt.clients.create({
      name: 'My App', client_metadata: { mycolor: 'red', myflavor: 'grape' },
    });
    assert.equal(r.status, 201);
    assert.equal(typeof r.data.client_id, 'string');
    assert.deepEqual(r.data.client_metadata, { mycolor: 'red', myflavor: 'grape' });
    cid = r.data.client_id;
  });

  await t.test('clients.get', async () => {
    const r = await mgmt.clients.get({ client_id: cid });
    assert.equal(r.data.name, 'My App');
    assert.deepEqual(r.data.client_metadata, { mycolor: 'red', myflavor: 'grape' });
  });

  await t.test('clients.update merges keys; null deletes one', async () => {
    let r = await mgmt.clients.update({ client_id: cid },
      { client_metadata: { mycolor: 'blue', mynewthing: 'something' } });
    assert.deepEqual(r.data.client_metadata,
      { mycolor: 'blue', myflavor: 'grape', mynewthing: 'something' });
    r = await mgmt.clients.update({ client_id: cid }, { client_metadata: { myflavor: null } });
    assert.deepEqual(r.data.client_metadata, { mycolor: 'blue', mynewthing: 'something' });
  });

  await t.test('client_metadata values are strings: 400 invalid_body', async () => {
    await rejects(mgmt.clients.update({ client_id: cid }, { client_metadata: { n: 1 } }), 400, 'invalid_body');
  });

  await t.test('clients.getAll lists it', async () => {
    const r = await mgmt.clients.getAll({ fields: 'client_id,name', include_fields: true });
    assert.ok(r.data.some((c) => c.client_id === cid && c.name === 'My App'));
  });

  await t.test('a scope the token lacks: 403 insufficient_scope', async () => {
    await rejects(narrow.clients.update({ client_id: cid }, { client_metadata: { mycolor: 'x' } }),
      403, 'insufficient_scope');
  });

  await t.test('clients.delete, then clients.get is 404 inexistent_client', async () => {
    const r = await mgmt.clients.delete({ client_id: cid });
    assert.equal(r.status, 204);
    await rejects(mgmt.clients.get({ client_id: cid }), 404, 'inexistent_client');
  });
});

test('client grants: listed by client_id; a grant removed stops new tokens at once', async () => {
  const l = await admin.clientGrants.getAll({ client_id: narrowc.id });
  assert.equal(l.status, 200);
  assert.deepEqual(l.data.map((g) => [g.id, g.client_id, g.audience, g.scope]),
    [[narrowc.grant, narrowc.id, audience, NARROW]]);
  const r = await admin.clientGrants.delete({ id: narrowc.grant });
  assert.equal(r.status, 204);
  const auth = new AuthenticationClient({ domain, clientId: narrowc.id, clientSecret: narrowc.secret });
  await assert.rejects(auth.oauth.clientCredentialsGrant({ audience }),
    (e) => e instanceof AuthApiError && e.statusCode === 403 && e.error === 'access_denied');
  await admin.clients.delete({ client_id: narrowc.id });
  await admin.clients.delete({ client_id: machine.id });
});
