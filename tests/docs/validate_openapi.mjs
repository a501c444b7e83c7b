// Runs the OpenAPI validators installed by docs/assets.sh on one document and
// prints what they said as one JSON object (tests/docs/validate_openapi.py
// turns it into TAP).
//
//   node validate_openapi.mjs ASSETS_DIR FILE [CORPUS_JSON] [--plant]
//
// ASSETS_DIR is BUILD/docs-assets. The validators:
//   @apidevtools/swagger-parser   reads FILE, checks it against the OpenAPI
//                                 3.0 JSON Schema and resolves every $ref;
//   @seriousme/openapi-schema-validator   checks it against the official
//                                 OpenAPI 3.0 schema (2021-09-28) with Ajv.
// js-yaml (the YAML parser Swagger UI bundles) reads FILE and every string of
// CORPUS_JSON. --plant: each validator also gets broken copies of the
// document, which it must refuse.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [assets, file] = process.argv.slice(2);
const rest = process.argv.slice(4);
const plant = rest.includes("--plant");
const corpusFile = rest.find((a) => a !== "--plant");
const modules = path.join(assets, "node_modules");
const require = createRequire(path.join(modules, "_"));

function version(name) {
	return JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"), "utf8")).version;
}

const SwaggerParser = require("@apidevtools/swagger-parser");
const yaml = require("js-yaml");
const { Validator } = await import(pathToFileURL(require.resolve("@seriousme/openapi-schema-validator")).href);

function short(x) {
	const s = typeof x === "string" ? x : JSON.stringify(x);
	return s.length > 400 ? s.slice(0, 400) + "..." : s;
}

// Resolves to {ok, errors: [text, ...]}.
async function swaggerParser(input) {
	try {
		await SwaggerParser.validate(input);
		return { ok: true, errors: [] };
	} catch (e) {
		const details = Array.isArray(e.details) ? e.details : [];
		return {
			ok: false,
			errors: [String(e.message).split("\n")[0]].concat(
				details.slice(0, 10).map((d) => short(`${d.instancePath || d.path || ""} ${d.message || ""} ${d.params ? JSON.stringify(d.params) : ""}`))),
		};
	}
}

async function schemaValidator(input) {
	const v = new Validator();
	const r = await v.validate(input);
	if (!r.valid) {
		const errs = Array.isArray(r.errors) ? r.errors : [r.errors];
		return {
			ok: false, errors: errs.slice(0, 10).map((d) =>
				typeof d === "object" && d ? short(`${d.instancePath || ""} ${d.message || ""} ${d.params ? JSON.stringify(d.params) : ""}`) : short(d)),
		};
	}
	return { ok: v.version === "3.0", errors: v.version === "3.0" ? [] : [`read as OpenAPI ${v.version}, not 3.0`] };
}

const out = {
	versions: {},
	file,
};
for (const n of ["@apidevtools/swagger-parser", "@seriousme/openapi-schema-validator", "js-yaml", "swagger-ui-dist"]) {
	out.versions[n] = version(n);
}
const schema30 = JSON.parse(fs.readFileSync(
	path.join(path.dirname(require.resolve("@seriousme/openapi-schema-validator")), "schemas", "v3.0", "schema.json"), "utf8"));
out.schemaId = schema30.id || schema30.$id || "";

out.swaggerParser = await swaggerParser(file);
out.schemaValidator = await schemaValidator(file);

let doc = null;
try {
	doc = yaml.load(fs.readFileSync(file, "utf8"));
	out.parsed = { ok: doc };
} catch (e) {
	out.parsed = { err: String(e.message).split("\n")[0] };
}

if (corpusFile) {
	out.corpus = JSON.parse(fs.readFileSync(corpusFile, "utf8")).map((t) => {
		try {
			return { ok: yaml.load(t) };
		} catch (e) {
			return { err: String(e.message).split("\n")[0] };
		}
	});
}

// Broken copies, each with one fault the OpenAPI 3.0 schema or the $ref
// resolution refuses.
if (plant && doc) {
	const firstOp = () => {
		for (const p of Object.keys(doc.paths)) {
			for (const m of ["get", "post", "put", "delete", "patch"]) {
				if (doc.paths[p][m]) return [p, m];
			}
		}
		throw new Error("no operation");
	};
	const [p0, m0] = firstOp();
	const plants = {
		"a response without a description": (d) => {
			const r = d.paths[p0][m0].responses;
			const c = Object.keys(r).find((k) => !r[k].$ref);
			delete r[c].description;
		},
		"a $ref that does not resolve": (d) => {
			d.paths[p0][m0].responses["299"] = { $ref: "#/components/responses/NoSuchResponse" };
		},
		"an unknown schema type": (d) => {
			const n = Object.keys(d.components.schemas).find((k) => d.components.schemas[k].type);
			d.components.schemas[n].type = "text";
		},
		"a parameter in: body (OpenAPI 2)": (d) => {
			d.paths[p0][m0].parameters = [{ name: "x", in: "body", schema: { type: "string" } }];
		},
		"a path that does not start with /": (d) => {
			d.paths["api/v1/nowhere"] = d.paths[p0];
		},
		"a misspelt operation field": (d) => {
			d.paths[p0][m0].sumary = "typo";
		},
		"nullable that is not a boolean": (d) => {
			const n = Object.keys(d.components.schemas)[0];
			d.components.schemas[n].nullable = "yes";
		},
		"a path parameter that is not required": (d) => {
			d.paths["/api/v1/nowhere/{id}"] = {
				get: { parameters: [{ name: "id", in: "path", schema: { type: "integer" } }],
					responses: { "200": { description: "x" } } },
			};
		},
		"example and examples on one media type": (d) => {
			const r = d.paths[p0][m0].responses;
			for (const k of Object.keys(r)) {
				const c = r[k].content && r[k].content["application/json"];
				if (c) { c.example = {}; c.examples = { a: { value: {} } }; return; }
			}
			throw new Error("no JSON response on " + p0);
		},
		"openapi: 3.0 without the patch version": (d) => {
			d.openapi = "3.0";
		},
	};
	out.planted = [];
	for (const [name, f] of Object.entries(plants)) {
		const d = structuredClone(doc);
		f(d);
		out.planted.push({
			name,
			swaggerParser: await swaggerParser(structuredClone(d)),
			schemaValidator: await schemaValidator(structuredClone(d)),
		});
	}
}

process.stdout.write(JSON.stringify(out));
