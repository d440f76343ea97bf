"""The mapping document: parsed, checked and compiled once, then used read-only (pure).

``parse_mapping(raw)`` turns the JSON a user stores (SPEC section 3) into frozen
dataclasses with every expression compiled, or raises ``MappingDocumentError``
listing every problem it found, each naming where it is (``rules[0].fields.Email``).
Checks against a live Zoho module's field metadata live apart (they need I/O).
"""

from __future__ import annotations

import re
from dataclasses import field, replace
from typing import Any

from chalicelib.errors import MappingDocumentError
from chalicelib.mapping.expressions import Expression, ExpressionSyntaxError, compile_expression
from chalicelib.mapping.transforms import FIELD_TYPES, TransformOptions
from chalicelib.values import frozen

DEFAULT_MAX_BODY_BYTES = 256 * 1024
# Accepted payloads are archived this many days unless the mapping says otherwise (SPEC 9).
DEFAULT_ARCHIVE_DAYS = 7
MAX_ARCHIVE_DAYS = 90
DEFAULT_SECRET_ID = "zwa/webhook/{source}"  # noqa: S105 (a name pattern, not a secret)
# The deliveries queue's redrive policy (maxReceiveCount): SQS moves a message to
# the dead-letter queue after this many receives, without the ledger knowing, so
# a source's retry.max_attempts must stay at or below it.
QUEUE_MAX_RECEIVE_COUNT = 25
# Request headers a mapping may not read: credentials never travel with a delivery.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
# The signature schemes named after providers, each with the headers that carry
# its signatures (lower-cased; a mapping may not read them) and, when it signs a
# timestamp, its tolerance by default (seconds between the signed time and now).
PROVIDER_SCHEMES: dict[str, tuple[str, ...]] = {
    "standard-webhooks": ("webhook-signature",),
    "stripe": ("stripe-signature",),
    "github": ("x-hub-signature-256", "x-hub-signature"),
    "shopify": ("x-shopify-hmac-sha256",),
    "typeform": ("typeform-signature",),
    "calendly": ("calendly-webhook-signature",),
    "hubspot-v3": ("x-hubspot-signature-v3", "x-hubspot-signature"),
}
SCHEME_TOLERANCE_SECONDS = {
    "standard-webhooks": 300, "stripe": 300, "calendly": 180, "hubspot-v3": 300, "hmac": 300,
}
SIGNATURE_SCHEMES = frozenset({"none", "hmac", *PROVIDER_SCHEMES})
_DOCUMENT_KEYS = frozenset(
    {"source", "enabled", "connection", "verify", "delivery_id", "max_body_bytes", "retry",
     "rules", "each", "description", "version", "archive"}
)
_RULE_KEYS = frozenset(
    {"name", "when", "module", "record", "event_time", "if_unmodified_since", "trigger",
     "skip_cadences", "layout_id", "skip_unchanged", "fields", "description"}
)
_FIELD_KEYS = frozenset(
    {"path", "value", "template", "type", "map", "default", "required", "split", "append",
     "scale", "timezone", "format", "max_length", "truncate", "null"}
)
_VERIFY_KEYS = frozenset(
    {"scheme", "secret_id", "header", "algorithm", "encoding", "prefix", "timestamp_header",
     "tolerance_seconds", "url"}
)
# The verify keys that only the generic hmac scheme takes: a provider's scheme fixes them.
_HMAC_ONLY_KEYS = ("header", "algorithm", "encoding", "prefix", "timestamp_header")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s#]*$")
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$]*$")
_TEMPLATE_SLOT = re.compile(r"\{([^{}]+)\}")
_TRIGGERS = frozenset({"workflow", "approval", "blueprint", "pathfinder", "orchestration"})
_LOCATORS = ("id", "external", "search")
MISSING: Any = object()


@frozen
class VerifyConfig:
    """How a source's requests are authenticated."""

    scheme: str = "none"
    secret_id: str | None = None
    header: str | None = None
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    tolerance_seconds: int = 300
    # hubspot-v3: the URL the provider calls (it is signed); None: rebuilt from the request.
    url: str | None = None

    @property
    def signature_headers(self) -> tuple[str, ...]:
        """The request headers (lower-cased) that carry this source's signatures."""
        if self.scheme == "hmac":
            return (self.header.lower(),) if isinstance(self.header, str) else ()
        return PROVIDER_SCHEMES.get(self.scheme, ())


@frozen
class RetryPolicy:
    """How long a delivery keeps being retried before it is dead."""

    max_attempts: int = 8
    max_age_seconds: int = 86400


@frozen
class FieldSpec:
    """How one Zoho field gets its value: from a path, a constant or a template."""

    api_name: str
    expression: Expression | None = None
    constant: Any = MISSING
    template: str | None = None
    template_slots: tuple[tuple[str, Expression], ...] = ()
    options: TransformOptions = field(default_factory=TransformOptions)
    default: Any = MISSING
    required: bool = False
    null: str = "omit"
    append: bool = False

    @property
    def source_text(self) -> str:
        """Where the value comes from, for error messages."""
        if self.expression is not None:
            return self.expression.text
        if self.template is not None:
            return f"template {self.template}"
        return "value"


@frozen
class RecordLocator:
    """How a rule finds its Zoho record: by id, by an External ID field, or by a search."""

    kind: str
    value: Expression
    field: str | None = None


@frozen
class Rule:
    """One rule: when it matches, one single-record PUT."""

    name: str
    module: str
    record: RecordLocator
    fields: tuple[FieldSpec, ...]
    when: Expression | None = None
    trigger: tuple[str, ...] | None = None
    skip_cadences: bool = False
    layout_id: str | None = None
    skip_unchanged: bool = True
    # The ordering guard: when the event happened, and whether Zoho is asked to
    # refuse the update (412) when the record changed after that time.
    event_time: Expression | None = None
    if_unmodified_since: bool = False

    @property
    def expressions(self) -> tuple[Expression, ...]:
        """Every expression of the rule: its filter, its record locator, its time, its fields."""
        found = [self.record.value]
        if self.when is not None:
            found.append(self.when)
        if self.event_time is not None:
            found.append(self.event_time)
        for spec in self.fields:
            if spec.expression is not None:
                found.append(spec.expression)
            found.extend(expression for _, expression in spec.template_slots)
        return tuple(found)


@frozen
class MappingDocument:
    """A source's whole mapping, compiled.

    ``header_names`` holds the request headers (lower-cased) that its expressions
    read: the only headers that travel with a delivery to the queue.
    """

    source: str
    rules: tuple[Rule, ...]
    enabled: bool = True
    connection: str = "default"
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    delivery_id: Expression | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    version: int | None = None
    # A list in the body whose items are each a delivery of their own (HubSpot's batches).
    each: Expression | None = None
    # How many days each accepted delivery's payload is archived for replay; 0: not kept.
    archive_days: int = DEFAULT_ARCHIVE_DAYS
    header_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        expressions = [self.delivery_id, *(e for rule in self.rules for e in rule.expressions)]
        names = frozenset(e.header for e in expressions if e is not None and e.header)
        object.__setattr__(self, "header_names", names)


class _Problems:
    """Collects problems so that one save reports all of them at once."""

    def __init__(self) -> None:
        self.items: list[str] = []
        # Each compiled header: expression and where it is, checked once verify is known.
        self.read_headers: list[tuple[str, Expression]] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}" if where else what)

    def expression(self, where: str, text: Any) -> Expression | None:
        try:
            compiled = compile_expression(text)
        except ExpressionSyntaxError as exc:
            self.add(where, str(exc))
            return None
        if compiled.header:
            self.read_headers.append((where, compiled))
        return compiled

    def unknown_keys(self, where: str, given: dict[str, Any], known: frozenset[str]) -> None:
        for key in sorted(set(given) - known, key=str):
            self.add(where, f"unknown key {key!r}{did_you_mean(str(key), known)}")


def did_you_mean(given: str, known: Any) -> str:
    """``"; did you mean 'path'?"`` when one of ``known`` is close to ``given``, else ``""``."""
    import difflib  # only a document with a mistake needs it, never a cold start

    close = difflib.get_close_matches(given, sorted(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_mapping(raw: Any, *, version: int | None = None) -> MappingDocument:
    """Compile a mapping document, or raise ``MappingDocumentError`` with every problem."""
    problems = _Problems()
    if not isinstance(raw, dict):
        raise MappingDocumentError(["the mapping document must be a JSON object"])
    problems.unknown_keys("", raw, _DOCUMENT_KEYS)
    source = raw.get("source")
    if not isinstance(source, str) or not _NAME.match(source):
        problems.add("source", "must be a name of letters, digits, '-', '_' or '.'")
    verify = _parse_verify(raw.get("verify", {"scheme": "none"}), problems, str(source))
    delivery_id = None
    if raw.get("delivery_id") is not None:
        delivery_id = problems.expression("delivery_id", raw["delivery_id"])
    each = _parse_each(raw, delivery_id, problems)
    max_body = raw.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if not _positive_int(max_body):
        problems.add("max_body_bytes", "must be a positive whole number")
    retry = _parse_retry(raw.get("retry", {}), problems)
    archive_days = _parse_archive(raw.get("archive", {}), problems)
    rules_raw = raw.get("rules")
    rules: list[Rule] = []
    if not isinstance(rules_raw, list) or not rules_raw:
        problems.add("rules", "must be a non-empty list")
    else:
        for index, rule_raw in enumerate(rules_raw):
            rule = _parse_rule(rule_raw, f"rules[{index}]", problems)
            if rule is not None:
                rules.append(rule)
        names = [rule.name for rule in rules]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.add("rules", f"the rule name {name!r} is used twice")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add("enabled", "must be true or false")
    connection = raw.get("connection", "default")
    if not isinstance(connection, str) or not _NAME.match(connection):
        problems.add("connection", "must be a connection name")
    _check_read_headers(verify, problems)
    if problems.items:
        raise MappingDocumentError(problems.items)
    assert isinstance(source, str)
    return MappingDocument(
        source=source,
        rules=tuple(rules),
        enabled=enabled,
        connection=connection,
        verify=verify,
        delivery_id=delivery_id,
        max_body_bytes=int(max_body),
        retry=retry,
        version=version,
        each=each,
        archive_days=archive_days,
    )


def _parse_archive(raw: Any, problems: _Problems) -> int:
    """``"archive": {"days": N}`` or ``false``: how many days payloads are kept (0: none)."""
    if raw is False:
        return 0
    if not isinstance(raw, dict):
        problems.add("archive", 'must be {"days": N} or false')
        return 0
    problems.unknown_keys("archive", raw, frozenset({"days"}))
    days = raw.get("days", DEFAULT_ARCHIVE_DAYS)
    if not _positive_int(days) or days > MAX_ARCHIVE_DAYS:
        problems.add("archive.days", f"must be a whole number from 1 to {MAX_ARCHIVE_DAYS}")
        return 0
    return int(days)


def is_source_name(text: str) -> bool:
    """Whether ``text`` can name a source (and so a mapping document)."""
    return bool(_NAME.fullmatch(text))


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def default_secret_id(source: str) -> str:
    """Where a source's signing secret is when its mapping names no ``verify.secret_id``."""
    return DEFAULT_SECRET_ID.format(source=source)


def _parse_verify(raw: Any, problems: _Problems, source: str) -> VerifyConfig:
    if not isinstance(raw, dict):
        problems.add("verify", "must be an object")
        return VerifyConfig()
    problems.unknown_keys("verify", raw, _VERIFY_KEYS)
    scheme = raw.get("scheme", "none")
    if not isinstance(scheme, str) or scheme not in SIGNATURE_SCHEMES:
        problems.add("verify.scheme", f"{scheme!r} is not supported; use one of "
                     f"{', '.join(sorted(SIGNATURE_SCHEMES))}")
        scheme = str(scheme)
    config = VerifyConfig(
        scheme=scheme,
        secret_id=raw.get("secret_id", default_secret_id(source) if scheme != "none" else None),
        header=raw.get("header"),
        algorithm=raw.get("algorithm", "sha256"),
        encoding=raw.get("encoding", "hex"),
        prefix=raw.get("prefix", ""),
        timestamp_header=raw.get("timestamp_header"),
        tolerance_seconds=raw.get("tolerance_seconds", SCHEME_TOLERANCE_SECONDS.get(scheme, 300)),
        url=raw.get("url"),
    )
    if scheme != "none" and (not isinstance(config.secret_id, str) or not config.secret_id):
        problems.add("verify.secret_id", "names the Secrets Manager secret holding the signing key")
    if scheme == "hmac":
        if not isinstance(config.header, str) or not config.header:
            problems.add("verify.header", "names the header carrying the signature")
        if config.algorithm not in ("sha1", "sha256", "sha512"):
            problems.add("verify.algorithm", "must be sha1, sha256 or sha512")
        if config.encoding not in ("hex", "base64"):
            problems.add("verify.encoding", "must be hex or base64")
        if not isinstance(config.prefix, str):
            problems.add("verify.prefix", "must be text")
    elif scheme in PROVIDER_SCHEMES:
        for key in _HMAC_ONLY_KEYS:
            if key in raw:
                problems.add(f"verify.{key}", f"does not apply to the {scheme} scheme, which "
                             "signs as the provider does")
    signs_time = scheme in SCHEME_TOLERANCE_SECONDS and (
        scheme != "hmac" or config.timestamp_header is not None)
    if "tolerance_seconds" in raw and not signs_time:
        problems.add("verify.tolerance_seconds", f"the {scheme} scheme signs no timestamp"
                     + (" (set timestamp_header)" if scheme == "hmac" else ""))
    if not _positive_int(config.tolerance_seconds):
        problems.add("verify.tolerance_seconds", "must be a positive whole number")
    if "url" in raw:
        if scheme != "hubspot-v3":
            problems.add("verify.url", "only the hubspot-v3 scheme signs the URL")
        elif not isinstance(config.url, str) or not _URL.match(config.url):
            problems.add("verify.url", "must be the https:// (or http://) URL the provider "
                         "calls, such as https://hooks.example.com/webhooks/hubspot")
    return config


def _parse_each(
    raw: dict[str, Any], delivery_id: Expression | None, problems: _Problems
) -> Expression | None:
    """``each``: a JMESPath list; each item then needs an id of its own, read from the item."""
    if raw.get("each") is None:
        return None
    each = problems.expression("each", raw["each"])
    if each is not None and each.header:
        problems.add("each", "must be JMESPath giving a list in the body (such as @ for a body "
                     "that is an array), not a header")
    if raw.get("delivery_id") is None:
        problems.add("delivery_id", "with each, names what tells the items apart, evaluated "
                     "on each item (such as eventId)")
    elif delivery_id is not None and delivery_id.header:
        problems.add("delivery_id", "with each, is read from each item: a header would give "
                     "every item the same id")
    return each


def _parse_retry(raw: Any, problems: _Problems) -> RetryPolicy:
    if not isinstance(raw, dict):
        problems.add("retry", "must be an object")
        return RetryPolicy()
    problems.unknown_keys("retry", raw, frozenset({"max_attempts", "max_age_seconds"}))
    policy = RetryPolicy(
        max_attempts=raw.get("max_attempts", 8), max_age_seconds=raw.get("max_age_seconds", 86400)
    )
    if not _positive_int(policy.max_attempts):
        problems.add("retry.max_attempts", "must be a positive whole number")
    elif policy.max_attempts > QUEUE_MAX_RECEIVE_COUNT:
        problems.add("retry.max_attempts", f"must be at most {QUEUE_MAX_RECEIVE_COUNT}, the "
                     "deliveries queue's receive count, after which SQS dead-letters a message")
    if not _positive_int(policy.max_age_seconds):
        problems.add("retry.max_age_seconds", "must be a positive whole number")
    return policy


def _check_read_headers(verify: VerifyConfig, problems: _Problems) -> None:
    """Credentials and the signature are checked at the edge, never mapped or forwarded."""
    signatures = verify.signature_headers
    for where, expression in problems.read_headers:
        if expression.header in CREDENTIAL_HEADERS:
            problems.add(where, f"{expression.text} reads a credential, which never travels "
                         "with a delivery")
        elif expression.header in signatures:
            problems.add(where, f"{expression.text} reads the signature header, which is "
                         "checked, not mapped")


def _parse_rule(raw: Any, where: str, problems: _Problems) -> Rule | None:
    if not isinstance(raw, dict):
        problems.add(where, "a rule must be an object")
        return None
    problems.unknown_keys(where, raw, _RULE_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(f"{where}.name", "every rule needs a name of letters, digits, '-' or '_'")
        name = where
    module = raw.get("module")
    if not isinstance(module, str) or not _API_NAME.match(module):
        problems.add(f"{where}.module", "must be a Zoho module API name such as Contacts")
    when = None
    if raw.get("when") is not None:
        when = problems.expression(f"{where}.when", raw["when"])
    record = _parse_locator(raw.get("record"), f"{where}.record", problems)
    trigger = raw.get("trigger")
    if trigger is not None:
        if not isinstance(trigger, list) or any(t not in _TRIGGERS for t in trigger):
            problems.add(f"{where}.trigger", f"must be a list of {', '.join(sorted(_TRIGGERS))}")
            trigger = None
        else:
            trigger = tuple(trigger)
    for flag in ("skip_cadences", "skip_unchanged", "if_unmodified_since"):
        if flag in raw and not isinstance(raw[flag], bool):
            problems.add(f"{where}.{flag}", "must be true or false")
    event_time = None
    if raw.get("event_time") is not None:
        event_time = problems.expression(f"{where}.event_time", raw["event_time"])
    if raw.get("if_unmodified_since") is True and raw.get("event_time") is None:
        problems.add(f"{where}.if_unmodified_since",
                     "needs event_time: the header carries the event's time")
    layout_id = raw.get("layout_id")
    if layout_id is not None and not (isinstance(layout_id, str) and layout_id.isdigit()):
        problems.add(f"{where}.layout_id", "must be a layout id as a string of digits")
    fields_raw = raw.get("fields")
    fields: list[FieldSpec] = []
    if not isinstance(fields_raw, dict) or not fields_raw:
        problems.add(f"{where}.fields", "must map at least one Zoho field API name to a spec")
    else:
        for api_name, spec in fields_raw.items():
            parsed = _parse_field(api_name, spec, f"{where}.fields.{api_name}", problems)
            if parsed is not None:
                fields.append(parsed)
    if record is None or module is None:
        return None
    return Rule(
        name=name,
        module=module,
        record=record,
        fields=tuple(fields),
        when=when,
        trigger=trigger,
        skip_cadences=bool(raw.get("skip_cadences", False)),
        layout_id=layout_id,
        skip_unchanged=bool(raw.get("skip_unchanged", True)),
        event_time=event_time,
        if_unmodified_since=raw.get("if_unmodified_since") is True,
    )


_LOCATOR_SHAPES = ('{"id": EXPR}, {"external": {"field": F, "value": EXPR}} or '
                   '{"search": {"field": F, "value": EXPR}}')


def _parse_locator(raw: Any, where: str, problems: _Problems) -> RecordLocator | None:
    if not isinstance(raw, dict) or len(raw) != 1:
        problems.add(where, f"must be {_LOCATOR_SHAPES}")
        return None
    ((kind, body),) = raw.items()
    if kind == "id":
        if isinstance(body, str) and body.strip().isdigit():
            # A bare number is not a JMESPath expression: say how to write a constant.
            problems.add(f"{where}.id", f"{body.strip()} is not an expression; for a constant "
                         f"record id write it as a JMESPath literal in single quotes: "
                         f"\"'{body.strip()}'\"")
            return None
        value = problems.expression(f"{where}.id", body)
        return RecordLocator(kind="id", value=value) if value else None
    if kind in ("external", "search"):
        if not isinstance(body, dict) or not isinstance(body.get("field"), str):
            problems.add(f"{where}.{kind}", 'must be {"field": F, "value": EXPR}')
            return None
        problems.unknown_keys(f"{where}.{kind}", body, frozenset({"field", "value"}))
        if not _API_NAME.match(body["field"]):
            problems.add(f"{where}.{kind}.field", "must be a Zoho field API name")
        value = problems.expression(f"{where}.{kind}.value", body.get("value"))
        return RecordLocator(kind=kind, value=value, field=body["field"]) if value else None
    problems.add(where, f"unknown locator {kind!r}{did_you_mean(str(kind), _LOCATORS)}; "
                 "use id, external or search")
    return None


def _parse_field(api_name: str, raw: Any, where: str, problems: _Problems) -> FieldSpec | None:
    if not _API_NAME.match(api_name):
        problems.add(where, "is not a Zoho field API name")
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict):
        problems.add(where, "must be a path string or an object")
        return None
    problems.unknown_keys(where, raw, _FIELD_KEYS)
    # Every key is checked even when the source is wrong: one save reports all.
    sources = [key for key in ("path", "value", "template") if key in raw]
    if len(sources) != 1:
        problems.add(where, "needs exactly one of path, value or template")
    kind = raw.get("type", "string")
    if kind not in FIELD_TYPES:
        problems.add(f"{where}.type", f"unknown type {kind!r}{did_you_mean(str(kind), FIELD_TYPES)}"
                     f" (one of {', '.join(sorted(FIELD_TYPES))})")
    mapping = raw.get("map")
    if mapping is not None and not isinstance(mapping, dict):
        problems.add(f"{where}.map", "must be an object of input value to output value")
        mapping = None
    null = raw.get("null", "omit")
    if null not in ("omit", "clear"):
        problems.add(f"{where}.null", "must be omit or clear")
    for flag in ("required", "append", "truncate"):
        if flag in raw and not isinstance(raw[flag], bool):
            problems.add(f"{where}.{flag}", "must be true or false")
    if raw.get("append") and kind != "multiselect":
        problems.add(f"{where}.append", "only applies to type multiselect")
    max_length = raw.get("max_length")
    if max_length is not None and not _positive_int(max_length):
        problems.add(f"{where}.max_length", "must be a positive whole number")
    scale = raw.get("scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))):
        problems.add(f"{where}.scale", "must be a number")
    for text_option in ("split", "timezone", "format"):
        if raw.get(text_option) is not None and not isinstance(raw[text_option], str):
            problems.add(f"{where}.{text_option}", "must be text")
    options = TransformOptions(
        type=kind,
        map=mapping,
        split=raw.get("split"),
        scale=scale,
        timezone=raw.get("timezone"),
        format=raw.get("format"),
        max_length=max_length,
        truncate=bool(raw.get("truncate", False)),
    )
    spec = FieldSpec(
        api_name=api_name,
        options=options,
        default=raw.get("default", MISSING),
        required=bool(raw.get("required", False)),
        null=null,
        append=bool(raw.get("append", False)),
    )
    if len(sources) != 1:
        return None
    if "path" in raw:
        expression = problems.expression(f"{where}.path", raw["path"])
        return _replace(spec, expression=expression) if expression else None
    if "value" in raw:
        return _replace(spec, constant=raw["value"])
    template = raw["template"]
    if not isinstance(template, str):
        problems.add(f"{where}.template", "must be text with {expression} slots")
        return None
    slots = []
    for text in _TEMPLATE_SLOT.findall(template):
        expression = problems.expression(f"{where}.template", text)
        if expression is not None:
            slots.append((text, expression))
    return _replace(spec, template=template, template_slots=tuple(slots))


def _replace(spec: FieldSpec, **changes: Any) -> FieldSpec:
    return replace(spec, **changes)
