// A second independent ActivityPub server for the interoperability test (test_apbot.py):
// activitypub.bot from npm, with two bots on https://$PEER_HOST, served over HTTPS on
// $PEER_ADDRESS:443 with the test CA's certificate (trusted through NODE_EXTRA_CA_CERTS):
//   bea   a bot that does what the test asks (a Service, as the bot's actors are)
//   club  its FEP-1b12 group bot: it boosts to its followers whatever mentions it
// Both accept every Follow (the bot's own default handling) and record what arrives.
//
// The bot's CLI listens on every address and mis-reads --allow-private, so this script
// starts the exported makeApp() itself. A control server on http://$PEER_ADDRESS:$CONTROL_PORT:
//   GET  /received                     what the bots' inboxes got: [{bot, type, id, actor,
//                                      object, objectType, content}]
//   POST /follow?bot=&handle=          the bot follows that actor (WebFinger, then Follow)
//   POST /post?bot=&content=[&to=][&cc=]  a public Note to its followers (plus to/cc lists)
//   POST /reply?bot=&object=&content=  a reply to that object
//   POST /like?bot=&object=, /announce?bot=&object=
//   POST /update?bot=&note=&content=, /delete?bot=&note=   its own Note
//   GET  /followers?bot=               ids in its followers collection
//   GET  /policy?origin=, POST /policy?origin=&policy=     the signature scheme it uses
//                                      for that server (rfc9421, draft-cavage-12, or none)
// It prints "ready" on stdout once both servers listen.
import "./as2compat.cjs"; // before the bot: what it needs from activitystrea.ms 3.2+
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http from "node:http";
import https from "node:https";
import { makeApp, Bot, GroupBot } from "@evanp/activitypub-bot";

const HOST = process.env.PEER_HOST;
const ADDRESS = process.env.PEER_ADDRESS;
const CONTROL_PORT = Number(process.env.CONTROL_PORT);
const ORIGIN = `https://${HOST}`;
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const received = [];

async function record(bot, activity) {
  try {
    const json = await activity.export();
    const object = typeof json.object === "object" && json.object !== null ? json.object : null;
    received.push({
      bot,
      type: json.type,
      id: json.id ?? null,
      actor: typeof json.actor === "object" ? json.actor?.id : json.actor ?? null,
      object: object ? object.id ?? null : json.object ?? null,
      objectType: object?.type ?? null,
      content: object?.content ?? null,
    });
  } catch (error) {
    console.error("record error:", error);
  }
}

class Bea extends Bot {
  async handleActivity(activity) {
    await record(this.username, activity);
    return false; // and the bot's own handling as usual
  }
}

class Club extends GroupBot {
  async handleActivity(activity) {
    await record(this.username, activity);
    return false;
  }
}

const bots = {
  bea: new Bea("bea", { fullname: "Bea of activitypub.bot", description: "A test peer." }),
  club: new Club("club"),
};

const folder = mkdtempSync(join(tmpdir(), "apbot-"));
const app = await makeApp({
  databaseUrl: `sqlite:${join(folder, "bot.sqlite")}`,
  origin: ORIGIN,
  bots,
  logLevel: process.env.LOG_LEVEL ?? "warn",
  allowPrivateNetworkRequests: true, // the test's servers live on loopback addresses
});
const { connection } = app.locals;

function context(name) {
  const bot = bots[name || "bea"];
  if (!bot) throw new Error(`no bot ${name}`);
  return bot._context;
}

const list = (value) => (value ? value.split(",").filter(Boolean) : []);

const actions = {
  "GET /received": async () => received,
  "POST /follow": async (q, ctx) => {
    const id = await ctx.toActorId(q.get("handle"));
    if (!id) throw new Error(`cannot find ${q.get("handle")}`);
    const activity = await ctx.followActor(await ctx.getObject(id));
    return { followed: id, activity: activity.id };
  },
  "POST /post": async (q, ctx) => {
    const note = await ctx.sendNote(q.get("content"), {
      to: [PUBLIC, ...list(q.get("to"))],
      cc: [ctx.getFollowersId(), ...list(q.get("cc"))],
    });
    return { note: note.id };
  },
  "POST /reply": async (q, ctx) => {
    const note = await ctx.sendReply(q.get("content"), await ctx.getObject(q.get("object")));
    return { note: note.id };
  },
  "POST /like": async (q, ctx) => ({
    activity: (await ctx.likeObject(await ctx.getObject(q.get("object")))).id,
  }),
  "POST /announce": async (q, ctx) => ({
    activity: (await ctx.announceObject(await ctx.getObject(q.get("object")))).id,
  }),
  "POST /update": async (q, ctx) => ({
    note: (await ctx.updateNote(await ctx.getObject(q.get("note")), q.get("content"))).id,
  }),
  "POST /delete": async (q, ctx) => ({
    activity: (await ctx.deleteNote(await ctx.getObject(q.get("note")))).id,
  }),
  "GET /followers": async (q, ctx) => {
    const ids = [];
    for await (const actor of ctx.followers()) ids.push(actor.id);
    return ids;
  },
  "GET /policy": async (q) => {
    const [rows] = await connection.query(
      "SELECT policy FROM signature_policy WHERE origin = ?",
      { replacements: [q.get("origin")] },
    );
    return { policy: rows[0]?.policy ?? null };
  },
  "POST /policy": async (q) => {
    await connection.query(
      `INSERT INTO signature_policy (origin, policy, expiry) VALUES (?, ?, ?)
       ON CONFLICT (origin) DO UPDATE SET policy = EXCLUDED.policy, expiry = EXCLUDED.expiry`,
      { replacements: [q.get("origin"), q.get("policy"), new Date(Date.now() + 86400e3)] },
    );
    return { policy: q.get("policy") };
  },
};

async function control(req, res) {
  const url = new URL(req.url, `http://${ADDRESS}`);
  const action = actions[`${req.method} ${url.pathname}`];
  if (!action) {
    res.writeHead(404).end();
    return;
  }
  let answer;
  try {
    answer = await action(url.searchParams, context(url.searchParams.get("bot")));
  } catch (error) {
    console.error("control error:", error);
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: String(error) }));
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(answer));
}

const tls = {
  cert: readFileSync(process.env.PEER_CERT),
  key: readFileSync(process.env.PEER_KEY),
};
await new Promise((ok) => https.createServer(tls, app).listen(443, ADDRESS, ok));
await new Promise((ok) => http.createServer(control).listen(CONTROL_PORT, ADDRESS, ok));
console.log("ready");
