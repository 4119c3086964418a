"""GET /openapi.json (the document of schemas/openapi.py) and GET /docs, a page rendered from it.

The page is HTML with inline CSS and one script of its own, /docs/try.js ("Try it": send a request with a
token); nothing comes from elsewhere, and every text is escaped.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from schemas.openapi import openapi_document

Node = dict[str, Any]
METHODS = ("get", "post", "put", "patch", "delete")


TRY_SCRIPT = Path(__file__).parent / "docs_static" / "try.js"


def today() -> date:
    return datetime.now(UTC).date()


@functools.lru_cache(maxsize=2)
def document(day: date) -> dict[str, Any]:
    """The document of the day: its examples are dated today (schemas/openapi.py)."""
    return openapi_document(today=day)


# The page and the document are made once, with this stand-in where they name the server; each request
# puts its own address in (from its Host header), so a new Host costs a replace, never a rendering.
BASE_URL_MARK = "insights-base-url-d41d8cd9"


@functools.lru_cache(maxsize=2)
def document_json(day: date) -> bytes:
    """The document, with `servers` naming where it is asked from (so clients know where to send)."""
    return msgspec.json.encode(openapi_document(BASE_URL_MARK, today=day))


async def openapi_json(request: Request) -> Response:
    base_url = msgspec.json.encode(str(request.base_url).rstrip("/"))[1:-1]  # JSON-escaped, unquoted
    document = document_json(today()).replace(BASE_URL_MARK.encode(), base_url)
    return Response(document, media_type="application/json")


async def docs_page(request: Request) -> Response:
    base_url = escape(str(request.base_url).rstrip("/"))
    return HTMLResponse(render_page(BASE_URL_MARK, today()).replace(BASE_URL_MARK, base_url))


async def try_script(request: Request) -> Response:
    return FileResponse(TRY_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
    Route("/docs/try.js", try_script, methods=["GET"], include_in_schema=False),
]


# ---- reading the document -------------------------------------------------------------------------


def resolve(doc: Node, node: Node) -> Node:
    """Follow a local `$ref` (its sibling keywords, like a description, win over the target's)."""
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target | {k: v for k, v in node.items() if k != "$ref"}
    return node


def example(doc: Node, schema: Node) -> Any:
    """A plausible value for the schema: its own example, else one built from its parts."""
    for key in ("examples", "const", "default", "enum"):
        if key in schema:
            return schema[key][0] if key in ("examples", "enum") else schema[key]
    if "$ref" in schema:
        return example(doc, resolve(doc, schema))
    if "anyOf" in schema and "type" not in schema:
        return example(doc, schema["anyOf"][0])
    kind = schema.get("type")
    kind = next(t for t in kind if t != "null") if isinstance(kind, list) else kind
    if kind == "object":
        return {name: example(doc, prop) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(doc, schema["items"])]
    return {"integer": schema.get("minimum", 0), "number": 0.0, "boolean": True}.get(str(kind), "text")


def operations(doc: Node) -> list[tuple[str, str, Node]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def scope_of(op: Node) -> str | None:
    scopes = [scope for requirement in op.get("security", []) for scope in next(iter(requirement.values()))]
    return scopes[0] if scopes else None


# ---- HTML pieces ----------------------------------------------------------------------------------


def inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def prose(text: str) -> str:
    """Blank-line separated paragraphs; a block of `- ` lines is a list."""
    blocks = []
    for block in filter(None, text.strip().split("\n\n")):
        lines = block.splitlines()
        if all(line.startswith("- ") for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{inline(line[2:])}</li>" for line in lines) + "</ul>")
        else:
            blocks.append(f"<p>{inline(' '.join(lines))}</p>")
    return "\n".join(blocks)


def type_label(schema: Node) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "anyOf" in schema:
        return " | ".join(type_label(option) for option in schema["anyOf"])
    if "enum" in schema and "type" not in schema:  # a closed list of values (a Literal): their kind
        if len(schema["enum"]) == 1:
            return f"<code>{escape(json.dumps(schema['enum'][0]))}</code>"
        kinds = {type(value).__name__ for value in schema["enum"]}
        return "string" if kinds == {"str"} else escape(" | ".join(sorted(kinds)))
    kind = schema.get("type", "any")
    if kind == "array":
        return "array of " + type_label(schema["items"])
    return escape(" | ".join(kind) if isinstance(kind, list) else str(kind))


def bounds(low: Any, high: Any, unit: str) -> str:
    if low is not None and high is not None:
        return f"{low} to {high}{unit}"
    return f"at least {low}{unit}" if low is not None else f"at most {high}{unit}"


def rules(schema: Node) -> str:
    """The constraints of a schema in a few words."""
    said = []
    if "enum" in schema:
        said.append("one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"]))
    for low, high, unit in (
        ("minLength", "maxLength", " chars"),
        ("minimum", "maximum", ""),
        ("minItems", "maxItems", " items"),
    ):
        if low in schema or high in schema:
            said.append(bounds(schema.get(low), schema.get(high), unit))
    if schema.get("uniqueItems"):
        said.append("no repeats")
    if "format" in schema:
        said.append(escape(schema["format"]))
    if "default" in schema:
        said.append(f"default <code>{escape(str(schema['default']))}</code>")
    return f'<span class="rules">{"; ".join(said)}</span>' if said else ""


def json_block(value: Any) -> str:
    return f"<pre><code>{escape(json.dumps(value, indent=2, ensure_ascii=False))}</code></pre>"


def table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    cells = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def fields_table(doc: Node, schema: Node) -> str:
    required = set(schema.get("required", []))
    rows = [
        (
            f"<code>{escape(name)}</code>",
            type_label(prop),
            "yes" if name in required else "no",
            inline(prop.get("description", resolve(doc, prop).get("description", ""))) + " " + rules(prop),
        )
        for name, prop in schema.get("properties", {}).items()
    ]
    return table(("field", "type", "required", "meaning"), rows)


HEADER_VARIABLES = {"If-None-Match": "$ETAG"}  # the ETag of an earlier answer


def parameter_example(doc: Node, parameter: Node) -> str | None:
    """A header without an example (If-None-Match) is shown as a shell variable the reader fills. An
    optional parameter with neither an example nor a default is left out (None): a value made up from
    its type (`from=text`, `cursor=text`) would turn a working example into a 422."""
    if parameter["in"] == "header" and "example" not in parameter:
        return HEADER_VARIABLES.get(parameter["name"], "$" + re.sub(r"\W", "_", parameter["name"]).upper())
    if "example" in parameter:
        return str(parameter["example"])
    if not parameter.get("required") and "default" not in resolve(doc, parameter["schema"]):
        return None
    return str(example(doc, parameter["schema"]))


def curl(doc: Node, base_url: str, path: str, method: str, op: Node) -> str:
    url, query, headers = base_url + path, [], []
    for parameter in (resolve(doc, p) for p in op.get("parameters", [])):
        value = parameter_example(doc, parameter)
        if value is None:
            continue
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", value)
        elif parameter["in"] == "header":
            headers.append(f'-H "{parameter["name"]}: {value}"')
        else:
            query.append(f"{parameter['name']}={value}")
    url += "?" + "&".join(query) if query else ""
    parts = ["curl"] + ([f"-X {method.upper()}"] if method != "get" else [])
    if scope_of(op) is not None:
        parts.append('-H "Authorization: Bearer $TOKEN"')
    parts += headers
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = json.dumps(example(doc, schema), ensure_ascii=False)
        parts += ["-H 'Content-Type: application/json'", f"-d '{body}'"]
    return "<pre><code>" + escape(" \\\n  ".join([*parts, f"'{url}'"])) + "</code></pre>"


def operation_html(doc: Node, base_url: str, path: str, method: str, op: Node) -> str:
    scope = scope_of(op)
    badge = f"scope <code>{escape(scope)}</code>" if scope else "no token needed"
    html = [
        f'<article class="op" id="op-{escape(op["operationId"])}">',
        f'<div class="op-head"><span class="method {method}">{method.upper()}</span>'
        f'<code class="path">{escape(path)}</code><span class="scope">{badge}</span></div>',
        f"<h3>{escape(op['summary'])}</h3>",
        prose(op.get("description", "")),
    ]
    parameters = [resolve(doc, p) for p in op.get("parameters", [])]
    if parameters:
        rows = [
            (
                f"<code>{escape(p['name'])}</code>",
                escape(p["in"]),
                type_label(p["schema"]),
                inline(p.get("description", "")) + " " + rules(resolve(doc, p["schema"])),
            )
            for p in parameters
        ]
        html += ["<h4>Parameters</h4>", table(("name", "in", "type", "meaning"), rows)]
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        html += [
            f"<h4>Request body: {type_label(schema)}</h4>",
            prose(op["requestBody"].get("description", "")),
            json_block(example(doc, schema)),
        ]
    answers = [response_row(doc, status, response) for status, response in op["responses"].items()]
    html += ["<h4>Responses</h4>", table(("status", "body / data", "when", "headers"), answers)]
    html += ["<h4>Example</h4>", curl(doc, base_url, path, method, op), try_form(doc, path, method, op)]
    for status, response in op["responses"].items():
        schema = json_schema_of(resolve(doc, response))
        if status.startswith("2") and schema and (value := example(doc, schema)):
            html += [f'<p class="caption">{escape(status)} response</p>', json_block(value)]
    return "\n".join([*html, "</article>"])


def try_form(doc: Node, path: str, method: str, op: Node) -> str:
    """A form /docs/try.js sends: the parameters and body prefilled with the examples."""
    fields = []
    for parameter in (resolve(doc, p) for p in op.get("parameters", [])):
        value = "" if parameter["in"] == "header" else parameter_example(doc, parameter) or ""
        fields.append(
            f'<label>{escape(parameter["name"])} <span class="rules">({escape(parameter["in"])})</span>'
            f'<input name="{escape(parameter["name"])}" data-in="{escape(parameter["in"])}" '
            f'value="{escape(value)}"></label>'
        )
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = json.dumps(example(doc, schema), indent=2, ensure_ascii=False)
        fields.append(f'<label>body<textarea name="body" rows="6">{escape(body)}</textarea></label>')
    secured = "yes" if scope_of(op) is not None else "no"
    return (
        f'<details class="try-it"><summary>Try it</summary><form class="try" data-method="{method}" '
        f'data-path="{escape(path)}" data-secured="{secured}">{"".join(fields)}'
        '<button type="submit">Send</button><pre class="try-answer"></pre></form></details>'
    )


def json_schema_of(response: Node) -> Node | None:
    schema: Node | None = response.get("content", {}).get("application/json", {}).get("schema")
    return schema


def response_row(doc: Node, status: str, response: Node) -> tuple[str, ...]:
    """Status, what the body holds (the `data` of a success envelope), when, and the headers promised."""
    response = resolve(doc, response)
    schema = json_schema_of(response)
    if schema is None:
        shown = ", ".join(f"<code>{escape(media)}</code>" for media in response.get("content", {}))
    else:
        shown = type_label(resolve(doc, schema).get("properties", {}).get("data") or schema)
    headers = ", ".join(f"<code>{escape(name)}</code>" for name in response.get("headers", {}))
    badge = f'<span class="status s{escape(status[0])}">{escape(status)}</span>'
    return badge, shown, inline(response["description"]), headers


def schema_html(doc: Node, name: str, schema: Node) -> str:
    html = [f'<article class="schema" id="schema-{escape(name)}"><h3>{escape(name)}</h3>']
    html.append(prose(schema.get("description", "")))
    if "properties" in schema:
        html.append(fields_table(doc, schema))
    else:
        html.append(f"<p>{type_label(schema)} {rules(schema)}</p>")
    return "\n".join([*html, "</article>"])


def errors_html(doc: Node) -> str:
    error = doc["components"]["schemas"]["Error"]
    sample = {"success": False, "message": "No event in the batch is valid."}
    sample |= {
        "error": "validation_failed",
        "errors": [{"field": "track_id", "message": "Expected int, got str."}],
    }
    return "\n".join(
        [
            '<section id="errors"><h2>Errors</h2>',
            prose(error["description"]),
            fields_table(doc, error),
            json_block(sample),
            "</section>",
        ]
    )


@functools.lru_cache(maxsize=2)  # today's page, and yesterday's for a moment after midnight
def render_page(base_url: str, day: date) -> str:
    doc = document(day)
    by_tag: dict[str, list[tuple[str, str, Node]]] = {tag["name"]: [] for tag in doc["tags"]}
    for path, method, op in operations(doc):
        by_tag[op["tags"][0]].append((path, method, op))
    nav, sections = [], []
    for tag in doc["tags"]:
        name = tag["name"]
        nav.append(f'<h5><a href="#tag-{escape(name)}">{escape(name)}</a></h5><ul>')
        nav += [
            f'<li><a href="#op-{escape(op["operationId"])}"><span class="method {m}">{m.upper()}</span>'
            f"{escape(op['summary'])}</a></li>"
            for _, m, op in by_tag[name]
        ]
        nav.append("</ul>")
        sections.append(
            f'<section id="tag-{escape(name)}"><h2>{escape(name)}</h2>{prose(tag["description"])}'
        )
        sections += [operation_html(doc, base_url, p, m, op) for p, m, op in by_tag[name]]
        sections.append("</section>")
    schemas = doc["components"]["schemas"]
    sections.append(errors_html(doc))
    sections.append('<section id="schemas"><h2>Schemas</h2>')
    sections += [schema_html(doc, name, schema) for name, schema in schemas.items()]
    sections.append("</section>")
    info = doc["info"]
    return PAGE.format(
        title=escape(info["title"]),
        version=escape(info["version"]),
        intro=prose(info["description"]),
        nav="\n".join(nav),
        body="\n".join(sections),
    )


CSS = """
:root { --ink:#1d2430; --muted:#5b6577; --line:#e3e7ee; --bg:#f7f8fb; --accent:#3552d6; }
* { box-sizing:border-box; }
body { margin:0; font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink);
  background:var(--bg); display:flex; }
nav { position:sticky; top:0; height:100vh; overflow:auto; width:270px; flex:none; padding:24px 18px;
  background:#11182a; color:#c9d1e4; font-size:14px; }
nav .brand { color:#fff; font-weight:700; font-size:18px; margin-bottom:4px; }
nav h5 { margin:20px 0 6px; font-size:12px; text-transform:uppercase; letter-spacing:.08em; }
nav h5 a { color:#8f9bb8; }
nav ul { list-style:none; margin:0; padding:0; }
nav li a { display:flex; gap:8px; align-items:center; color:#dde3f2; padding:4px 6px; border-radius:6px; }
nav li a:hover { background:#1e2740; text-decoration:none; }
nav .method { width:42px; }
main { flex:1; min-width:0; max-width:1040px; padding:32px 48px 80px; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
h1 { margin:0 0 4px; font-size:30px; } h2 { margin:48px 0 8px; font-size:24px;
  border-bottom:2px solid var(--line); padding-bottom:6px; }
h3 { margin:10px 0 6px; font-size:18px; } h4 a { text-transform:none; }
h4 { margin:18px 0 6px; font-size:14px; color:var(--muted);
  text-transform:uppercase; letter-spacing:.05em; }
.version { color:var(--muted); margin:0 0 16px; }
code { font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:#eef1f7;
  padding:1px 5px; border-radius:4px; }
pre { background:#0f1627; color:#e6ebf5; padding:14px 16px; border-radius:8px; overflow:auto; }
pre code { background:none; padding:0; color:inherit; }
.op, .schema { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px;
  margin:18px 0; box-shadow:0 1px 2px rgba(20,30,60,.04); }
.op-head { display:flex; flex-wrap:wrap; gap:10px; align-items:center; }
.path { font-size:14px; background:none; font-weight:600; }
.method { display:inline-block; font:700 11px/1 ui-monospace,Menlo,monospace; color:#fff; padding:5px 7px;
  border-radius:5px; text-align:center; }
.method.get { background:#1f8a5b; } .method.post { background:#d9822b; }
.method.delete { background:#c23b3b; }
.scope { margin-left:auto; font-size:13px; color:var(--muted); }
table { width:100%; border-collapse:collapse; font-size:14px; margin:6px 0; }
th { text-align:left; font-weight:600; color:var(--muted); border-bottom:2px solid var(--line);
  padding:6px 8px; }
td { border-bottom:1px solid var(--line); padding:6px 8px; vertical-align:top; }
.rules { color:var(--muted); font-size:13px; }
.status { font:700 12px ui-monospace,Menlo,monospace; padding:2px 6px; border-radius:4px; }
.s2 { background:#dcf3e7; color:#14663f; } .s4 { background:#fdeccf; color:#8a4b00; }
.s5 { background:#fbdcdc; color:#9b1c1c; }
.caption { margin:14px 0 -6px; font-size:13px; color:var(--muted); font-weight:600; }
.try-it summary { cursor:pointer; color:var(--accent); font-weight:600; margin:10px 0; }
.try label { display:block; margin:6px 0; font-size:13px; color:var(--muted); }
.try input, .try textarea, .token-box input { display:block; width:100%;
  font:13px ui-monospace,Menlo,monospace; padding:6px 8px; border:1px solid var(--line);
  border-radius:6px; color:var(--ink); }
.try button { margin:8px 0; padding:6px 14px; border:0; border-radius:6px; background:var(--accent);
  color:#fff; font-weight:600; cursor:pointer; }
.try-answer:empty { display:none; }
.token-box { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
@media (max-width: 860px) { body { display:block; } nav { position:static; width:auto; height:auto; }
  main { padding:20px; } }
"""

PAGE = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="/favicon.ico">
<script src="/docs/try.js" defer></script><style>"""
    + CSS.replace("{", "{{").replace("}", "}}")
    + """</style></head>
<body>
<nav><div class="brand">{title}</div><div>API v{version}</div>
{nav}
<h5><a href="#errors">Errors</a></h5><h5><a href="#schemas">Schemas</a></h5>
<h5><a href="/openapi.json">openapi.json</a></h5></nav>
<main><h1>{title}</h1><p class="version">Version {version} · OpenAPI 3.1 ·
<a href="/openapi.json">/openapi.json</a></p>
{intro}
<div class="token-box"><label for="try-token">Token for "Try it" (kept in this tab only):
<input id="try-token" type="password" autocomplete="off" spellcheck="false"
placeholder="paste what insights token create printed"></label></div>
{body}
</main></body></html>
"""
)
