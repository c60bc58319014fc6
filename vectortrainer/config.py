"""YAML configuration -> validated, typed objects.

Every error names the file, the line and the key, and says what would be valid
(`config.yaml:7: selection.epsilonn: unknown key (did you mean 'epsilon'?)`).
Command-line flags override values after loading (`Config.with_overrides`).

Every section is frozen: a config is built once from its file (each section from its
mapping, checked as it is built) and a changed one is a new object, checked again. The
``selection`` section *is* the selection settings
(:class:`~vectortrainer.settings.SelectionSettings`), passed whole to the selection.
Loading registers no secret for redaction: a face does that once at start-up
(:meth:`Config.register_secrets`).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
import re
import types
import typing
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

import yaml

from vectortrainer.errors import ConfigError, SettingError
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.redaction import (
    looks_like_secret,
    redact_secrets,
    register_secret,
    register_secret_env,
)
from vectortrainer.registry.layout import DEFAULT_FEEDBACK_PATH, DEFAULT_HOME
from vectortrainer.settings import SelectionSettings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V")
Section = TypeVar("Section", bound="DataclassInstance")


class FrozenMapping(Mapping[str, V], Generic[V]):
    """A read-only mapping, so a frozen section's ``system_prompts``, ``prices``, ... cannot change
    either; equal to a dict with the same items, and hashable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, V] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


def _freeze(section: object, *names: str) -> None:
    """Make the mappings ``names`` of a frozen ``section`` read-only (in ``__post_init__``)."""
    for name in names:
        value = getattr(section, name)
        if not isinstance(value, FrozenMapping):
            object.__setattr__(section, name, FrozenMapping(value))


@dataclass(frozen=True)
class StoreConfig:
    path: Path = DEFAULT_HOME / "store"
    mode: Literal["lite", "pro"] = "lite"


@dataclass(frozen=True)
class SelectionConfig(SelectionSettings):
    """The ``selection:`` section: the selection settings (checked as they are built), the function
    to work on and per-function system prompts."""

    function: str | None = None
    system_prompts: Mapping[str, str] = field(default_factory=FrozenMapping)

    def __post_init__(self) -> None:
        super().__post_init__()
        _freeze(self, "system_prompts")

    def with_settings(self, settings: SelectionSettings) -> SelectionConfig:
        """This section with ``settings`` (a screen's) in place of its own; function and prompts
        kept."""
        return self.replace(
            epsilon=settings.epsilon,
            top_k=settings.top_k,
            anomaly_share=settings.anomaly_share,
            min_samples=settings.min_samples,
            cluster_similarity=settings.cluster_similarity,
            min_cluster_size=settings.min_cluster_size,
            duplicate_epsilon=settings.duplicate_epsilon,
            density_mode=settings.density_mode,
        )


@dataclass(frozen=True)
class DensityConfig:
    # Where the exact density tasks run: "local" (threads of this process), "ray" (a Ray
    # cluster; needs the [distributed] extra; the same densities and picks as local) or "gpu"
    # (the exact products on a CUDA GPU through torch; densities to float32 rounding).
    backend: Literal["local", "ray", "gpu"] = "local"
    # The Ray cluster to join ("auto", "ray://head:10001");
    # null: RAY_ADDRESS if set, else a local Ray.
    ray_address: str | None = None


@dataclass(frozen=True)
class FeedbackConfig:
    path: Path = DEFAULT_FEEDBACK_PATH
    # Learn no rule from pairs whose fix rewrites the meaning (MiniLM similarity, rules.rewrites).
    semantic_screen: bool = True


@dataclass(frozen=True)
class HooksConfig:
    dir: Path = DEFAULT_HOME / "hooks"


PROVIDER_NAMES = ("openai", "azure", "together", "fireworks", "local")
Provider = Literal["openai", "azure", "together", "fireworks", "local"]


@dataclass(frozen=True)
class ModelsConfig:
    dir: Path = DEFAULT_HOME / "models"


@dataclass(frozen=True)
class GateConfig:
    # Promote a model (or activate a hook) only when it beats what is in service on held-out data.
    enabled: bool = True
    # every 5th golden example per strategy, and 1 feedback pair in 5, is held out
    holdout_every: int = 5
    max_cases: int = 32  # held-out cases per slice (bounds the gate's inference cost)
    margin: float = 0.02  # the candidate's score must beat the incumbent's by this
    tolerance: float = 0.05  # and no slice may fall more than this below it
    min_slice_cases: int = 3  # a smaller slice counts in the overall score but cannot veto alone
    # the gain must clear the margin at this confidence (a one-sided bootstrap bound) ...
    confidence: float = 0.95
    min_cases: int = 8  # ... on at least this many held-out cases; fewer: not enough evidence
    semantic: bool = True  # MiniLM similarity beside edit similarity
    max_reply_tokens: int = 256
    # a new hook must repair held-out pairs at least this much better than the active one
    hook_margin: float = 0.0


@dataclass(frozen=True)
class GoldenConfig:
    # Register a promoted run's golden picks in VectorWave's
    # golden dataset (its replayer's first test cases).
    publish_to_vectorwave: bool = False


@dataclass(frozen=True)
class LoopConfig:
    enabled: bool = False  # --batch runs loop cycles instead of one run
    # with enabled: keep running cycles every `interval` (else one cycle, for cron)
    continuous: bool = False
    interval: str = "15m"
    min_new_logs: int = 50  # successful logs of the function since the last cycle
    min_new_feedback: int = 5  # or new feedback pairs since the last cycle
    max_cycles_per_day: int = 4


@dataclass(frozen=True)
class CanaryConfig:
    """The ``canary:`` section (issue 26): a model its gate passed first serves ``share`` of the
    function's calls beside the promoted model; the loop watches both and promotes it fully or
    rolls it back by itself."""

    # the share of calls the candidate serves (0: no canary, a passed model is promoted at once)
    share: float = 0.0
    min_calls: int = 200  # calls on each arm before the loop decides
    # the candidate is rolled back when it is worse at this confidence (one-sided bounds)
    confidence: float = 0.95
    # ... by more than these: error rate and corrections per call (absolute rises in [0, 1]) ...
    max_error_rise: float = 0.0
    max_correction_rise: float = 0.0
    # ... or, while no correction was recorded, MiniLM similarity of the outputs to reference
    # outputs (a drop in [0, 1]; ``semantic: false`` leaves this signal out)
    max_score_drop: float = 0.05
    semantic: bool = True
    # a canary still short of min_calls on an arm after this many hours is rolled back
    # ("expired": not enough evidence to promote)
    max_hours: float = 72.0


@dataclass(frozen=True)
class TrainingConfig:
    provider: Provider = "openai"
    # Deprecated name of ``provider`` (from when only openai | local existed); read as ``provider``.
    trainer: Literal["openai", "local"] | None = None
    method: Literal["supervised", "dpo"] = "supervised"
    model: str = "gpt-4o-mini-2024-07-18"
    n_epochs: int | Literal["auto"] = "auto"
    batch_size: int | Literal["auto"] = "auto"
    learning_rate_multiplier: float | Literal["auto"] = "auto"  # OpenAI / Azure
    learning_rate: float | Literal["auto"] = "auto"  # Together / Fireworks (absolute)
    beta: float | Literal["auto"] = "auto"
    suffix: str = "vectortrainer"
    seed: int | None = 42
    validation_split: float = 0.0
    poll_interval_s: float = 5.0
    local_model: Path | None = None
    max_steps: int | None = None


@dataclass(frozen=True)
class BudgetConfig:
    max_budget_usd: float | None = 5.0
    max_minutes: float | None = None
    prices: Mapping[str, float] = field(default_factory=FrozenMapping)
    # USD per hour of a gate deployment, over the recorded price (null: the recorded one)
    hosting_usd_per_hour: float | None = None

    def __post_init__(self) -> None:
        _freeze(self, "prices")


@dataclass(frozen=True)
class OpenAIConfig:
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass(frozen=True)
class AzureConfig:
    endpoint: str | None = None  # https://<resource>.openai.azure.com (null: AZURE_OPENAI_ENDPOINT)
    api_version: str = "2024-10-21"
    # the deployment of the base model production calls today: the gate's incumbent
    deployment: str | None = None
    api_key_env: str = "AZURE_OPENAI_API_KEY"
    max_retries: int = 3
    timeout_s: float = 60.0
    # The control plane (Azure Resource Manager) the gate deploys a fine-tuned model through.
    management_url: str = "https://management.azure.com"
    subscription_id: str | None = None
    resource_group: str | None = None
    resource_name: str | None = None  # the Azure OpenAI resource (account) name
    management_token_env: str = "AZURE_MANAGEMENT_TOKEN"  # holds an Azure AD bearer token


@dataclass(frozen=True)
class TogetherConfig:
    base_url: str | None = None  # null: the SDK default (or TOGETHER_BASE_URL)
    api_key_env: str = "TOGETHER_API_KEY"
    training_type: Literal["lora", "full"] = "lora"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass(frozen=True)
class FireworksConfig:
    base_url: str | None = None  # null: the SDK default (or FIREWORKS_BASE_URL)
    account_id: str | None = None  # null: FIREWORKS_ACCOUNT_ID
    api_key_env: str = "FIREWORKS_API_KEY"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass(frozen=True)
class Config:
    store: StoreConfig = field(default_factory=StoreConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    density: DensityConfig = field(default_factory=DensityConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    golden: GoldenConfig = field(default_factory=GoldenConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    canary: CanaryConfig = field(default_factory=CanaryConfig)
    output_dir: Path = DEFAULT_HOME / "output"
    training: TrainingConfig = field(default_factory=TrainingConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    openai: OpenAIConfig = field(default_factory=OpenAIConfig)
    azure: AzureConfig = field(default_factory=AzureConfig)
    together: TogetherConfig = field(default_factory=TogetherConfig)
    fireworks: FireworksConfig = field(default_factory=FireworksConfig)
    # Overrides of the providers' published dates: {"openai":
    # "2027-01-06", "openai/<model>": "2027-01-14"}.
    schedule: Mapping[str, str] = field(default_factory=FrozenMapping)
    # Textual binding id -> keys, e.g. {"dataset.select": "f8"}; checked by the app (`tui.keys`).
    keys: Mapping[str, str] = field(default_factory=FrozenMapping)
    source: Path | None = None

    def __post_init__(self) -> None:
        _freeze(self, "schedule", "keys")

    def with_overrides(self, origin: str = "command line", /, **dotted: object) -> Config:
        """A copy with ``{"selection.top_k": 5, ...}`` applied and validated; ``None`` values are
        ignored.

        ``origin`` names where the values came from in error messages ("command line", a screen).
        Each changed section is a new one, checked as it is built; nothing is changed in place.
        """
        given = {key: value for key, value in dotted.items() if value is not None}
        result = _resolve_provider(_with_changes(self, given, origin, prefix=""), origin)
        _validate(result, origin)
        return result

    def register_secrets(self) -> None:
        """Redact this config's secrets from now on: the values of the key variables its
        ``api_key_env`` entries name, and any user info in its URLs.

        Called once at start-up (the CLI, the app, the web page, a ``Workspace`` or a
        ``TrainingPipeline``); loading and checking a config register nothing.
        """
        for section in _KEY_SECTIONS:
            register_secret_env(getattr(self, section).api_key_env)
        for section, key in _URL_KEYS:
            url = getattr(getattr(self, section), key)
            if url:  # user info is kept for the client, never stored or shown
                parts = urllib.parse.urlsplit(url)
                register_secret(parts.password)
                register_secret(parts.username)

    def redacted(self) -> JSONObject:
        """A JSON-ready snapshot with no secrets: API keys are never part of the config, URL user
        info is replaced by ``***`` and the values of the key variables are redacted wherever they
        appear."""
        plain: JSONObject = _to_plain(self)
        return redact_secrets(plain)  # type: ignore[no-any-return]


def load_config(path: str | Path | None) -> Config:
    """Load and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found (copy config.example.yaml to start)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} "
            f"at offset {exc.start}); save the config as UTF-8"
        ) from None
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    config = Config(source=path)
    if node is None:
        return config
    _check_size(node, str(path))
    config = _resolve_provider(_from_mapping(config, node, str(path), prefix=""), str(path))
    _validate(config, str(path))
    return config


MAX_CONFIG_NODES = 100_000  # values after expanding aliases; a real config has a few hundred


def _check_size(root: yaml.Node, file: str) -> None:
    """Refuse a document whose aliases expand past ``MAX_CONFIG_NODES`` (an alias bomb, or an alias
    loop).

    PyYAML shares an aliased node, so composing is cheap; what explodes is every
    later walk over the values. This walk counts each node as often as aliases
    reach it and stops at the cap, so it is bounded whatever the document.
    """
    stack = [root]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_CONFIG_NODES:
            raise ConfigError(
                f"{file}:{node.start_mark.line + 1}: more than {MAX_CONFIG_NODES:,} "
                "values once its aliases are expanded (an alias bomb or an "
                "alias that contains itself?); write the values out instead"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


def _construct(node: yaml.Node) -> JSONValue:
    """The Python value of one composed node, with PyYAML's safe constructor (no re-serialising)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _field_types(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "source"}


def _from_mapping(section: Section, node: yaml.Node, file: str, prefix: str) -> Section:
    """``section`` (its defaults) with the values of the YAML mapping ``node``: each value coerced
    to its key's type, the inner sections built the same way, then the section built (and so
    checked) once."""
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{file}:{node.start_mark.line + 1}: "
            f"{prefix.rstrip('.') or 'the file'}: expected a mapping of keys"
        )
    known = _field_types(type(section))
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]`: a list or a mapping as a key
            raise ConfigError(
                f"{file}:{line}: {prefix.rstrip('.') or 'the file'}: a key must be a name, not a "
                f"{'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'}"
            )
        key = key_node.value
        if key not in known:
            hint = difflib.get_close_matches(str(key), list(known), n=1)
            suggestion = (
                f" (did you mean '{hint[0]}'?)" if hint else f" (valid keys: {', '.join(known)})"
            )
            raise ConfigError(f"{file}:{line}: {prefix}{_key_text(key)}: unknown key{suggestion}")
        lines[key] = line
        current = getattr(section, key)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            values[key] = _from_mapping(current, value_node, file, f"{prefix}{key}.")
            continue
        try:
            raw = _construct(value_node)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{file}:{line}: {prefix}{key}: {getattr(exc, 'problem', None) or exc}"
            ) from None
        except ValueError as exc:  # PyYAML's int() past the digit limit, or a date like 2027-13-45
            reason = (
                "a number with too many digits; write a smaller one"
                if "digits" in str(exc)
                else f"cannot be read: {exc}"
            )
            raise ConfigError(f"{file}:{line}: {prefix}{key}: {reason}") from None
        values[key] = _coerce(raw, known[key], f"{prefix}{key}", file, line)
    try:
        return dataclasses.replace(section, **values)
    except SettingError as exc:
        where = f"{file}:{lines[exc.key]}" if exc.key in lines else file
        raise ConfigError(f"{where}: {prefix}{exc.key}: {exc.problem}") from None


def _with_changes(
    section: Section, changes: Mapping[str, object], origin: str, prefix: str
) -> Section:
    """``section`` with ``{"top_k": 5, "selection.top_k": 5, ...}`` (dotted below it) applied: new
    sections, each built (and so checked) once."""
    known = _field_types(type(section))
    values: dict[str, object] = {}
    inner: dict[str, dict[str, object]] = {}
    for dotted_key, value in changes.items():
        head, _, rest = dotted_key.partition(".")
        if head not in known or (rest and not dataclasses.is_dataclass(getattr(section, head))):
            raise ConfigError(f"{origin}: {prefix}{dotted_key}: unknown key")
        if rest:
            inner.setdefault(head, {})[rest] = value
        else:
            values[head] = _coerce(value, known[head], f"{prefix}{head}", origin, None)
    for head, nested in inner.items():
        values[head] = _with_changes(getattr(section, head), nested, origin, f"{prefix}{head}.")
    try:
        return dataclasses.replace(section, **values)
    except SettingError as exc:
        raise ConfigError(f"{origin}: {prefix}{exc.key}: {exc.problem}") from None


def _key_text(key: object) -> str:
    """A key as an error line shows it: as written, or quoted when it holds a line break or
    another character that is not printable (the message stays one line)."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def _coerce(value: object, hint: object, key: str, file: str, line: int | None) -> object:
    """``value`` as the type ``hint`` says (a typed-in "9" is 9), or a ConfigError naming
    ``key``."""
    where = f"{file}:{line}" if line else file
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, key, file, line)
            except ConfigError as exc:
                errors.append(exc)
        allowed = " or ".join(_describe(a) for a in args)
        raise ConfigError(f"{where}: {key}: expected {allowed}, got {value!r}")
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(
            f"{where}: {key}: expected one of {', '.join(map(repr, args))}, got {value!r}"
        )
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key}: expected a mapping, got {value!r}")
        key_type, value_type = args
        return FrozenMapping(
            {str(k): _coerce(v, value_type, f"{key}.{_key_text(k)}", file, line)
             for k, v in value.items()}
        )
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                return int(value)
            except ValueError:  # digits int() does not take ("²"), or past its digit limit
                pass
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, datetime.date):  # YAML reads 2027-01-06 as a date
            return value.isoformat()
    elif hint is Path:
        if isinstance(value, (str, Path)) and "\0" in str(value):
            raise ConfigError(f"{where}: {key}: a path cannot hold a NUL character (\\0)")
        if isinstance(value, (str, Path)) and str(value):
            return Path(value).expanduser()
    raise ConfigError(f"{where}: {key}: expected {_describe(hint)}, got {value!r}")


_DESCRIPTIONS: dict[object, str] = {
    int: "an integer",
    float: "a number",
    str: "a string",
    Path: "a path",
    bool: "true/false",
    type(None): "null",
}


def _describe(hint: object) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return _DESCRIPTIONS.get(hint, str(hint))


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION_S = 365 * 86400


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` (a bare number is seconds);
    ``ValueError`` otherwise."""
    value = str(text).strip().lower()
    unit = value[-1:] if value[-1:] in _DURATION_UNITS else "s"
    number = value[:-1] if value[-1:] in _DURATION_UNITS else value
    seconds = float(number) * _DURATION_UNITS[unit]
    if not 0 < seconds <= MAX_DURATION_S:  # NaN and inf too: a wait must end
        raise ValueError("must be positive and at most 365d")
    return seconds


def duration_problem(value: object) -> str | None:
    """Why ``value`` is not a duration (None when it is); the one rule config and the CLI share."""
    try:
        parse_duration(str(value))
    except (ValueError, TypeError):
        return (
            f"expected a positive duration of at most 365d, such as 90s, 15m, 1h or 1d, "
            f"got {value!r}"
        )
    return None


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # POSIX environment variable names
_KEY_SECTIONS = ("openai", "azure", "together", "fireworks")
_URL_KEYS = (
    ("openai", "base_url"),
    ("azure", "endpoint"),
    ("together", "base_url"),
    ("fireworks", "base_url"),
)


def api_key_env_problem(name: object) -> str | None:
    """Why ``name`` cannot be an ``api_key_env`` (None when it can); never repeats the value, which
    may be a key."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        return (
            "expected the name of an environment variable (letters, digits and _, such as "
            "OPENAI_API_KEY); the value given is not one and is not shown, in case it is a key"
        )
    if looks_like_secret(name):
        return (
            "looks like an API key, not the name of the environment variable "
            "that holds it (not shown); put the key in an environment "
            "variable (export OPENAI_API_KEY=...) and name that variable here"
        )
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a provider's address (None when it can); never repeats the value,
    which may hold a password."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a port that is no number, or out of range, raises here
    except ValueError as exc:
        return f"not a URL ({exc}); write it as https://host:port/path (port and path optional)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected an http(s) URL with a host, such as https://api.example.com/v1"
    return None


def _validate_credentials(config: Config, file: str) -> None:
    """Key variables are names, never keys (registering them for redaction is a start-up step:
    :meth:`Config.register_secrets`)."""
    for section in _KEY_SECTIONS:
        problem = api_key_env_problem(getattr(config, section).api_key_env)
        if problem:
            raise ConfigError(f"{file}: {section}.api_key_env: {problem}")
    for section, key in _URL_KEYS:  # read for their user info at start-up: a bad one is a line
        url = getattr(getattr(config, section), key)
        problem = url_problem(url) if url else None
        if problem:
            raise ConfigError(f"{file}: {section}.{key}: {problem} (the value is not shown, in "
                              "case it holds a password)")


@dataclass(frozen=True)
class NumberRule:
    """The values one numeric setting may take: a finite number (a whole one with ``whole``) from
    ``low`` to ``high`` (each end excluded with ``open_low`` / ``open_high``), or ``None`` with
    ``null`` and ``"auto"`` with ``auto``. NaN and infinities are never in range."""

    low: float
    high: float | None = None
    whole: bool = False
    open_low: bool = False
    open_high: bool = False
    null: str = ""  # what null means, when it is allowed ("no limit")
    auto: bool = False
    why: str = ""  # what the number means, when the range alone does not say

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not allowed (None when it is), as the end of an error line."""
        if (value is None and self.null) or (value == "auto" and self.auto):
            return None
        if self._in_range(value):
            return None
        kind = "a whole number" if self.whole else "a finite number"
        if self.high is None:
            bound = f"{'above' if self.open_low else 'of at least'} {self.low:g}"
        else:
            bound = (f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}"
                     f"{')' if self.open_high else ']'}")
        also = "".join(
            [", or 'auto'" if self.auto else "", f", or null ({self.null})" if self.null else ""]
        )
        why = f" ({self.why})" if self.why else ""
        return f"must be {kind} {bound}{also}{why}, got {value!r}"

    def _in_range(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.whole and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False  # NaN passes no comparison, so it is refused before any is made
        low_ok = value > self.low if self.open_low else value >= self.low
        if self.high is None:
            return low_ok
        return low_ok and (value < self.high if self.open_high else value <= self.high)


_AT_LEAST_1 = NumberRule(1, whole=True)
_RETRIES = NumberRule(0, 100, whole=True)
_TIMEOUT = NumberRule(0, 86_400, open_low=True)  # seconds: a day bounds one provider call
_SHARE = NumberRule(0, 1)  # scores and repairs are shares in [0, 1], so are their margins
# Every numeric setting outside ``selection`` (which checks itself), with the values it may take.
NUMBER_RULES: dict[str, NumberRule] = {
    "training.n_epochs": NumberRule(1, whole=True, auto=True),
    "training.batch_size": NumberRule(1, whole=True, auto=True),
    "training.learning_rate_multiplier": NumberRule(0, open_low=True, auto=True),
    "training.learning_rate": NumberRule(0, open_low=True, auto=True),
    "training.beta": NumberRule(0, open_low=True, auto=True),
    "training.validation_split": NumberRule(0, 1, open_high=True),
    "training.poll_interval_s": NumberRule(0, 3600, open_low=True),
    "training.max_steps": NumberRule(1, whole=True, null="the trainer decides"),
    "budget.max_budget_usd": NumberRule(0, null="no limit"),
    "budget.max_minutes": NumberRule(0, open_low=True, null="no limit"),
    "budget.hosting_usd_per_hour": NumberRule(0, open_low=True, null="the recorded price"),
    "gate.holdout_every": NumberRule(2, whole=True, why="every n-th example is held out"),
    "gate.max_cases": _AT_LEAST_1,
    "gate.margin": _SHARE,
    "gate.tolerance": _SHARE,
    "gate.min_slice_cases": _AT_LEAST_1,
    "gate.confidence": NumberRule(0.5, 1, open_low=True, open_high=True,
                                  why="of the gain's one-sided bound, e.g. 0.95"),
    "gate.min_cases": _AT_LEAST_1,
    "gate.max_reply_tokens": _AT_LEAST_1,
    "gate.hook_margin": _SHARE,
    "loop.min_new_logs": NumberRule(0, whole=True),
    "loop.min_new_feedback": NumberRule(0, whole=True),
    "loop.max_cycles_per_day": _AT_LEAST_1,
    "canary.share": NumberRule(0, 1, why="the share of calls the candidate serves; 0 turns the "
                               "canary off"),
    "canary.min_calls": NumberRule(1, whole=True, why="calls on each arm before a decision"),
    "canary.confidence": NumberRule(0.5, 1, open_low=True, open_high=True,
                                    why="of the one-sided bounds, e.g. 0.95"),
    "canary.max_error_rise": _SHARE,
    "canary.max_correction_rise": _SHARE,
    "canary.max_score_drop": _SHARE,
    "canary.max_hours": NumberRule(0, 24 * 365, open_low=True,
                                   why="hours before a canary short of calls is rolled back"),
    **{f"{section}.max_retries": _RETRIES for section in ("openai", "azure", "together",
                                                          "fireworks")},
    **{f"{section}.timeout_s": _TIMEOUT for section in ("openai", "azure", "together",
                                                        "fireworks")},
}


def _setting(config: Config, dotted: str) -> object:
    section, _, key = dotted.partition(".")
    return getattr(getattr(config, section), key)


def _validate(config: Config, file: str) -> None:
    """The checks of the other sections (the selection checked itself when it was built); reads
    only."""
    _validate_credentials(config, file)
    for key, rule in NUMBER_RULES.items():
        problem = rule.problem(_setting(config, key))
        if problem:
            raise ConfigError(f"{file}: {key}: {problem}")
    problem = duration_problem(config.loop.interval)
    if problem:
        raise ConfigError(f"{file}: loop.interval: {problem}")
    for model, price in config.budget.prices.items():
        if not (math.isfinite(price) and price > 0):
            raise ConfigError(
                f"{file}: budget.prices.{_key_text(model)}: price must be positive USD per 1M "
                "tokens"
            )
    for key, value in config.schedule.items():
        provider = key.partition("/")[0]
        if provider not in PROVIDER_NAMES or provider == "local":
            hosted = ", ".join(p for p in PROVIDER_NAMES if p != "local")
            raise ConfigError(
                f"{file}: schedule.{_key_text(key)}: unknown provider {provider!r}; write "
                f"<provider> (its last day of new jobs) or <provider>/<model> (a model's "
                f"shutdown), provider one of {hosted}"
            )
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"{file}: schedule.{_key_text(key)}: expected a date like 2027-01-06, got {value!r}"
            ) from None


def _resolve_provider(config: Config, file: str) -> Config:
    """``training.trainer`` is the deprecated name of ``training.provider``: read it as that, once
    (a new config; ``config`` is left as it is)."""
    training = config.training
    if training.trainer is None:
        return config
    if training.provider not in ("openai", training.trainer):
        raise ConfigError(
            f"{file}: training.trainer: {training.trainer!r} contradicts training.provider: "
            f"{training.provider!r}; training.trainer is the old name of training.provider, "
            f"keep only training.provider"
        )
    resolved = dataclasses.replace(training, provider=training.trainer, trainer=None)
    return dataclasses.replace(config, training=resolved)


def _to_plain(value: object) -> JSONValue:
    """A config (or a part of it) as plain JSON values: sections and mappings as dicts, paths as
    text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    return value
