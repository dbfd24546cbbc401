// Auth0's official Node SDK (the npm package auth0, as package-lock.json
// pins it, unchanged) against metakeep over https: the calls of the README's
// walk-through and docs/api.md, made the way real client code makes them.
// Run by test_sdk.sh, which starts the service and sets:
//   MK_SDK_DOMAIN         127.0.0.1:PORT, the https port of the web server
//   NODE_EXTRA_CA_CERTS   the self-signed certificate it serves (trust, not
//                         NODE_TLS_REJECT_UNAUTHORIZED=0, not a fetch override)
//   MK_SDK_CLIENT_ID, MK_SDK_CLIENT_SECRET
//                         a machine client granted every scope of the API
//   MK_SDK_NARROW_ID, MK_SDK_NARROW_SECRET
//                         a client granted read:users only
//   MK_SDK_TOKEN, MK_SDK_NARROW_TOKEN
//                         static tokens used instead of the client pairs
//                         when those are not set
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagementClient, AuthenticationClient, ManagementApiError } from 'auth0';

const env = process.env;
const domain = env.MK_SDK_DOMAIN;
assert.ok(domain, 'MK_SDK_DOMAIN is not set (run test_sdk.sh)');
assert.ok(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS is not set');
assert.notEqual(env.NODE_TLS_REJECT_UNAUTHORIZED, '0', 'certificate checks must stay on');
const audience = `https://${domain}/api/v2/`;

// management(ID, SECRET, TOKEN): a ManagementClient as a script builds it,
// with its client's credentials, or with a token when there are none.
function management(id, secret, token) {
  if (id)
    return new ManagementClient({ domain, clientId: id, clientSecret: secret });
  assert.ok(token, 'neither a client nor a token to call the API with');
  return new ManagementClient({ domain, token });
}

const mgmt = management(env.MK_SDK_CLIENT_ID, env.MK_SDK_CLIENT_SECRET, env.MK_SDK_TOKEN);
const narrow = management(env.MK_SDK_NARROW_ID, env.MK_SDK_NARROW_SECRET, env.MK_SDK_NARROW_TOKEN);
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
