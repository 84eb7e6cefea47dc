// An independent ActivityPub server for the interoperability test (test_fedify.py), built
// with Fedify from npm: one person, "fred", on https://$PEER_HOST, served over HTTPS on
// $PEER_ADDRESS:443 with the test CA's certificate (trusted through NODE_EXTRA_CA_CERTS).
//
// Fred accepts every Follow, and records every activity his inboxes receive. A small control
// server on http://$PEER_ADDRESS:$CONTROL_PORT lets the test drive him:
//   GET  /received           what arrived so far (JSON list of {type, actor, object})
//   POST /follow?handle=...  Fred follows that person (WebFinger lookup, then Follow)
//   POST /post?content=...   Fred posts a public Note to his followers
//   GET  /media?object=...   look up an actor or post as Fedify reads it, then fetch its
//                            icon or attachments as a remote server does (no signature,
//                            no cookie); JSON list of {url, name, status, type, bytes}
//   GET  /get?url=...        fetch one URL that way: {url, status, type, bytes}
// It prints "ready" on stdout once both servers listen.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { randomUUID } from "node:crypto";
import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Create,
  Endpoints,
  Follow,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Undo,
  Update,
  Delete,
  Like,
  Announce,
} from "@fedify/fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";

const HOST = process.env.PEER_HOST;
const ADDRESS = process.env.PEER_ADDRESS;
const CONTROL_PORT = Number(process.env.CONTROL_PORT);
const ORIGIN = `https://${HOST}`;
const NAME = "fred";

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];
const received = [];
const followers = new Map(); // actor id -> the actor (a Recipient for sendActivity)
const notes = new Map(); // note id -> Note

const federation = createFederation({
  kv: new MemoryKvStore(),
  allowPrivateAddress: true, // the test's servers live on loopback addresses
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== NAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fred of Fedify",
      summary: "An independent ActivityPub peer for tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((key) => key.multikey),
    });
  })
  .setKeyPairsDispatcher((ctx, identifier) => (identifier === NAME ? keyPairs : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", (ctx, identifier) =>
  identifier === NAME ? { items: [...followers.values()] } : null,
);

federation.setObjectDispatcher(Note, "/notes/{id}", (ctx, values) =>
  notes.get(ctx.getObjectUri(Note, values).href) ?? null,
);

async function record(ctx, activity) {
  const object = await activity.getObject().catch(() => null);
  received.push({
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: object?.id?.href ?? activity.objectId?.href ?? null,
    objectType: object?.constructor?.name ?? null,
    content: object?.content?.toString() ?? null,
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    if (follow.objectId?.href !== ctx.getActorUri(NAME).href) return;
    const follower = await follow.getActor();
    if (follower?.id == null || follower.inboxId == null) return;
    followers.set(follower.id.href, follower);
    await ctx.sendActivity(
      { identifier: NAME },
      follower,
      new Accept({
        id: new URL(`${ORIGIN}/accepts/${randomUUID()}`),
        actor: ctx.getActorUri(NAME),
        object: follow,
      }),
    );
  })
  .on(Accept, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record)
  .on(Like, record)
  .on(Announce, record)
  .on(Undo, record)
  .onError((ctx, error) => console.error("inbox error:", error));

async function follow(handle) {
  const ctx = federation.createContext(new URL(ORIGIN));
  const target = await ctx.lookupObject(handle);
  if (target?.id == null) throw new Error(`cannot find ${handle}`);
  await ctx.sendActivity(
    { identifier: NAME },
    target,
    new Follow({
      id: new URL(`${ORIGIN}/follows/${randomUUID()}`),
      actor: ctx.getActorUri(NAME),
      object: target.id,
    }),
  );
  return target.id.href;
}

async function post(content) {
  const ctx = federation.createContext(new URL(ORIGIN));
  const id = randomUUID();
  const note = new Note({
    id: ctx.getObjectUri(Note, { id }),
    attribution: ctx.getActorUri(NAME),
    content,
    to: PUBLIC_COLLECTION,
    cc: ctx.getFollowersUri(NAME),
    published: Temporal.Now.instant(),
  });
  notes.set(note.id.href, note);
  await ctx.sendActivity(
    { identifier: NAME },
    "followers",
    new Create({
      id: new URL(`${note.id.href}/activity`),
      actor: ctx.getActorUri(NAME),
      object: note,
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(NAME),
    }),
  );
  return note.id.href;
}

// A remote server fetching media it read in a document: plain GET, no session, no signature.
async function plainGet(url) {
  const response = await fetch(url, { redirect: "manual" });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    url,
    status: response.status,
    type: response.headers.get("content-type"),
    bytes: body.length,
  };
}

async function media(uri) {
  const ctx = federation.createContext(new URL(ORIGIN));
  const object = await ctx.lookupObject(uri);
  if (object == null) throw new Error(`cannot read ${uri}`);
  const found = [];
  if (object instanceof Person) {
    const icon = await object.getIcon();
    if (icon?.url != null) found.push({ url: icon.url.href, name: null });
  } else {
    for await (const attachment of object.getAttachments()) {
      const url = attachment.url?.href ?? attachment.url?.toString();
      if (url != null) found.push({ url, name: attachment.name?.toString() ?? null });
    }
  }
  return Promise.all(found.map(async (item) => ({ ...item, ...(await plainGet(item.url)) })));
}

// Node's request to a web Request for Fedify, and Fedify's Response back.
async function serveFederation(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = chunks.length ? Buffer.concat(chunks) : undefined;
  const request = new Request(`${ORIGIN}${req.url}`, {
    method: req.method,
    headers: Object.entries(req.headers).flatMap(([k, v]) =>
      Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]],
    ),
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
  const response = await federation.fetch(request, { contextData: undefined });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

async function control(req, res) {
  const url = new URL(req.url, `http://${ADDRESS}`);
  let answer;
  try {
    if (req.method === "GET" && url.pathname === "/received") answer = received;
    else if (req.method === "POST" && url.pathname === "/follow")
      answer = { followed: await follow(url.searchParams.get("handle")) };
    else if (req.method === "POST" && url.pathname === "/post")
      answer = { posted: await post(url.searchParams.get("content")) };
    else if (req.method === "GET" && url.pathname === "/media")
      answer = await media(url.searchParams.get("object"));
    else if (req.method === "GET" && url.pathname === "/get")
      answer = await plainGet(url.searchParams.get("url"));
    else {
      res.writeHead(404).end();
      return;
    }
  } catch (error) {
    console.error("control error:", error);
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: String(error) }));
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(answer));
}

function failing(handler) {
  return (req, res) =>
    handler(req, res).catch((error) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
}

const tls = {
  cert: readFileSync(process.env.PEER_CERT),
  key: readFileSync(process.env.PEER_KEY),
};
await new Promise((ok) => https.createServer(tls, failing(serveFederation)).listen(443, ADDRESS, ok));
await new Promise((ok) => http.createServer(failing(control)).listen(CONTROL_PORT, ADDRESS, ok));
console.log("ready");
