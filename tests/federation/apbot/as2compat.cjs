// activitypub.bot 0.51.2 asks for activitystrea.ms ^4.0.0, which the npm registry does not
// have (its newest is 3.1.0). package.json overrides it to 3.1.0, and this file adds what the
// bot uses from the later versions. peer.mjs loads it before the bot.
//
//   registerContext(url, document): a JSON-LD context known without fetching it. All loaders
//     of the library (the one for reading documents and the one for writing them) consult
//     one registry, so a context registered once is known everywhere (3.1.0 gives each
//     loader its own map and fetches everything else from the network, which is not there).
//   isActivity(): whether an object is an Activity (of any subtype), non-enumerable so that
//     nothing iterating an object's members sees it.
//   export({useOriginalContext: true}) writes with the context the object was made with
//     (3.1.0 asks its Environment for `origContext`, which it calls `originalContext`, and so
//     writes actors with security terms as full IRIs, which no other server reads).
"use strict";

const path = require("node:path");
const { createRequire } = require("node:module");

const root = path.dirname(require.resolve("activitystrea.ms/package.json"));
const fromLibrary = createRequire(path.join(root, "src", "activitystreams.js"));
const Loader = fromLibrary("./contextloader");
const Environment = fromLibrary("./environment");

Object.defineProperty(Environment.prototype, "origContext", {
  configurable: true,
  get() {
    return this.originalContext;
  },
});

const registry = Object.create(null);
const ownLoader = Loader.prototype.makeDocLoader;
Loader.prototype.makeDocLoader = function makeDocLoader() {
  const fallback = ownLoader.call(this);
  return async (url) =>
    url in registry ? { contextUrl: null, document: registry[url], documentUrl: url } : fallback(url);
};

const as2 = fromLibrary("./activitystreams"); // after the patch: its loaders are made now
const reasoner = fromLibrary("./reasoner");
const vocabulary = fromLibrary("vocabs-as");

Object.defineProperty(as2, "registerContext", {
  enumerable: false,
  value(url, document) {
    registry[url] = document;
  },
});

Object.defineProperty(as2.models.Base.prototype, "isActivity", {
  enumerable: false,
  configurable: true,
  value() {
    const types = reasoner.reduce([].concat(this.type ?? []));
    return types.some((type) => reasoner.node(type).is(vocabulary.Activity));
  },
});

module.exports = as2;
