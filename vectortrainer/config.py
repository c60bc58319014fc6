"""YAML configuration -> validated, typed objects.

Every error names the file, the line and the key, and says what would be valid
(`config.yaml:7: selection.epsilonn: unknown key (did you mean 'epsilon'?)`).
Command-line flags override values after loading (`Config.with_overrides`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import difflib
import re
import types
import typing
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from vectortrainer.errors import ConfigError
from vectortrainer.redaction import (
    looks_like_secret,
    redact_secrets,
    register_secret,
    register_secret_env,
)

DEFAULT_HOME = Path(".vectortrainer")
AUTO = "auto"


@dataclass
class StoreConfig:
    path: Path = DEFAULT_HOME / "store"
    mode: Literal["lite", "pro"] = "lite"


@dataclass
class SelectionConfig:
    function: str | None = None
    # "auto": chosen from the data (vectortrainer.golden.epsilon); or a cosine distance in (0, 2].
    epsilon: float | Literal["auto"] = "auto"
    top_k: int = 20
    # Neighbours within epsilon that make a log a core log of a dense cluster.
    min_samples: int = 5
    # How alike two groups of logs must be, on average,
    # to form one cluster; "auto": the data's background.
    cluster_similarity: float | Literal["auto"] = "auto"
    # Share of top_k given to low-density successful logs (new patterns).
    anomaly_share: float = 0.25
    system_prompts: dict[str, str] = field(default_factory=dict)

    @property
    def cluster_similarity_value(self) -> float | None:
        """``cluster_similarity`` as the selection takes it (None: chosen from the data)."""
        return None if self.cluster_similarity == AUTO else float(self.cluster_similarity)


@dataclass
class DensityConfig:
    # Where the exact density tasks run: "local" (threads of this process) or "ray" (a Ray
    # cluster; needs the [distributed] extra). Both give the same densities and picks.
    backend: Literal["local", "ray"] = "local"
    # The Ray cluster to join ("auto", "ray://head:10001");
    # null: RAY_ADDRESS if set, else a local Ray.
    ray_address: str | None = None


@dataclass
class FeedbackConfig:
    path: Path = DEFAULT_HOME / "feedback.jsonl"
    # Screen out pairs whose fix rewrites the meaning (MiniLM similarity) before learning rules.
    semantic_screen: bool = True


@dataclass
class HooksConfig:
    dir: Path = DEFAULT_HOME / "hooks"


PROVIDER_NAMES = ("openai", "azure", "together", "fireworks", "local")
Provider = Literal["openai", "azure", "together", "fireworks", "local"]


@dataclass
class ModelsConfig:
    dir: Path = DEFAULT_HOME / "models"


@dataclass
class GateConfig:
    # Promote a model (or activate a hook) only when it beats what is in service on held-out data.
    enabled: bool = True
    # every 5th golden example per strategy, and 1 feedback pair in 5, is held out
    holdout_every: int = 5
    max_cases: int = 32  # held-out cases per slice (bounds the gate's inference cost)
    margin: float = 0.02  # the candidate's score must beat the incumbent's by this
    tolerance: float = 0.05  # and no slice may fall more than this below it
    min_slice_cases: int = 3  # a smaller slice counts in the overall score but cannot veto alone
    semantic: bool = True  # MiniLM similarity beside edit similarity
    max_reply_tokens: int = 256
    # a new hook must repair held-out pairs at least this much better than the active one
    hook_margin: float = 0.0


@dataclass
class GoldenConfig:
    # Register a promoted run's golden picks in VectorWave's
    # golden dataset (its replayer's first test cases).
    publish_to_vectorwave: bool = False


@dataclass
class LoopConfig:
    enabled: bool = False  # --batch runs loop cycles instead of one run
    # with enabled: keep running cycles every `interval` (else one cycle, for cron)
    continuous: bool = False
    interval: str = "15m"
    min_new_logs: int = 50  # successful logs of the function since the last cycle
    min_new_feedback: int = 5  # or new feedback pairs since the last cycle
    max_cycles_per_day: int = 4


@dataclass
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


@dataclass
class BudgetConfig:
    max_budget_usd: float | None = 5.0
    max_minutes: float | None = None
    prices: dict[str, float] = field(default_factory=dict)


@dataclass
class OpenAIConfig:
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass
class AzureConfig:
    endpoint: str | None = None  # https://<resource>.openai.azure.com (null: AZURE_OPENAI_ENDPOINT)
    api_version: str = "2024-10-21"
    # the deployment the fine-tuned model is served under, once deployed
    deployment: str | None = None
    api_key_env: str = "AZURE_OPENAI_API_KEY"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass
class TogetherConfig:
    base_url: str | None = None  # null: the SDK default (or TOGETHER_BASE_URL)
    api_key_env: str = "TOGETHER_API_KEY"
    training_type: Literal["lora", "full"] = "lora"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass
class FireworksConfig:
    base_url: str | None = None  # null: the SDK default (or FIREWORKS_BASE_URL)
    account_id: str | None = None  # null: FIREWORKS_ACCOUNT_ID
    api_key_env: str = "FIREWORKS_API_KEY"
    max_retries: int = 3
    timeout_s: float = 60.0


@dataclass
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
    output_dir: Path = DEFAULT_HOME / "output"
    training: TrainingConfig = field(default_factory=TrainingConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    openai: OpenAIConfig = field(default_factory=OpenAIConfig)
    azure: AzureConfig = field(default_factory=AzureConfig)
    together: TogetherConfig = field(default_factory=TogetherConfig)
    fireworks: FireworksConfig = field(default_factory=FireworksConfig)
    # Overrides of the providers' published dates: {"openai":
    # "2027-01-06", "openai/<model>": "2027-01-14"}.
    schedule: dict[str, str] = field(default_factory=dict)
    # Textual binding id -> keys, e.g. {"dataset.select": "f8"}; checked by the app (`tui.keys`).
    keys: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    def with_overrides(self, origin: str = "command line", **dotted: Any) -> "Config":
        """A copy with ``{"selection.top_k": 5, ...}`` applied and validated; ``None`` values are
        ignored.

        ``origin`` names where the values came from in error messages ("command line", a screen).
        """
        result = _deep_copy(self)
        for dotted_key, value in dotted.items():
            if value is None:
                continue
            *parents, leaf = dotted_key.split(".")
            target: Any = result
            for part in parents:
                target = getattr(target, part)
            hint = _field_types(type(target))[leaf]
            setattr(target, leaf, _coerce(value, hint, dotted_key, origin, None))
        _validate(result, origin)
        return result

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready snapshot with no secrets: API keys are never part of the config, URL user
        info is replaced by ``***`` and the values of the key variables are redacted wherever they
        appear."""
        return redact_secrets(_to_plain(self))


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
    _apply_mapping(config, node, str(path), prefix="")
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


def _construct(node: yaml.Node) -> Any:
    """The Python value of one composed node, with PyYAML's safe constructor (no re-serialising)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "source"}


def _apply_mapping(target: Any, node: yaml.Node, file: str, prefix: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{file}:{node.start_mark.line + 1}: "
            f"{prefix.rstrip('.') or 'the file'}: expected a mapping of keys"
        )
    known = _field_types(type(target))
    for key_node, value_node in node.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        if key not in known:
            hint = difflib.get_close_matches(str(key), list(known), n=1)
            suggestion = (
                f" (did you mean '{hint[0]}'?)" if hint else f" (valid keys: {', '.join(known)})"
            )
            raise ConfigError(f"{file}:{line}: {prefix}{key}: unknown key{suggestion}")
        hint_type = known[key]
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            _apply_mapping(current, value_node, file, f"{prefix}{key}.")
            continue
        try:
            raw = _construct(value_node)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{file}:{line}: {prefix}{key}: {getattr(exc, 'problem', None) or exc}"
            ) from None
        setattr(target, key, _coerce(raw, hint_type, f"{prefix}{key}", file, line))


def _coerce(value: Any, hint: Any, key: str, file: str, line: int | None) -> Any:
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
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key}: expected a mapping, got {value!r}")
        key_type, value_type = args
        return {str(k): _coerce(v, value_type, f"{key}.{k}", file, line) for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
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
        if isinstance(value, (str, Path)) and str(value):
            return Path(value).expanduser()
    raise ConfigError(f"{where}: {key}: expected {_describe(hint)}, got {value!r}")


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return {
        int: "an integer",
        float: "a number",
        str: "a string",
        Path: "a path",
        bool: "true/false",
    }.get(hint, "null" if hint is type(None) else str(hint))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def epsilon_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid epsilon (None when it is); the one rule config, API and faces
    share."""
    if value == AUTO:
        return None
    if not _is_number(value) or not 0.0 < float(value) <= 2.0:
        return "must be 'auto' or a cosine distance in (0, 2] (e.g. 0.15 means similarity >= 0.85)"
    return None


def top_k_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid top-k (None when it is)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return "must be a whole number of at least 1"
    return None


def min_samples_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid min_samples (None when it is)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        return "must be a whole number from 1 to 100"
    return None


def cluster_similarity_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid cluster similarity (None when it is)."""
    if value == AUTO:
        return None
    if not _is_number(value) or not -1.0 <= float(value) <= 1.0:
        return "must be 'auto' or a cosine similarity in [-1, 1]"
    return None


def anomaly_share_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid anomaly share (None when it is)."""
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        return "must be in [0, 1]"
    return None


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` (a bare number is seconds);
    ``ValueError`` otherwise."""
    value = str(text).strip().lower()
    unit = value[-1:] if value[-1:] in _DURATION_UNITS else "s"
    number = value[:-1] if value[-1:] in _DURATION_UNITS else value
    seconds = float(number) * _DURATION_UNITS[unit]
    if not seconds > 0:
        raise ValueError("must be positive")
    return seconds


def duration_problem(value: Any) -> str | None:
    """Why ``value`` is not a duration (None when it is); the one rule config and the CLI share."""
    try:
        parse_duration(value)
    except (ValueError, TypeError):
        return f"expected a positive duration such as 90s, 15m, 1h or 1d, got {value!r}"
    return None


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # POSIX environment variable names
_KEY_SECTIONS = ("openai", "azure", "together", "fireworks")
_URL_KEYS = (
    ("openai", "base_url"),
    ("azure", "endpoint"),
    ("together", "base_url"),
    ("fireworks", "base_url"),
)


def api_key_env_problem(name: Any) -> str | None:
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


def _validate_credentials(config: Config, file: str) -> None:
    """Key variables are names, never keys; each, and any user info in a URL, is registered for
    redaction."""
    for section in _KEY_SECTIONS:
        name = getattr(config, section).api_key_env
        # a key pasted here is redacted wherever it would show, refused below
        register_secret_env(name)
        problem = api_key_env_problem(name)
        if problem:
            raise ConfigError(f"{file}: {section}.api_key_env: {problem}")
    for section, key in _URL_KEYS:
        url = getattr(getattr(config, section), key)
        if url:  # user info is kept for the client, but never stored or shown (redaction strips it)
            parts = urllib.parse.urlsplit(url)
            register_secret(parts.password)
            register_secret(parts.username)


def _validate(config: Config, file: str) -> None:
    _resolve_provider(config.training, file)
    _validate_credentials(config, file)
    for key, problem in (
        ("selection.epsilon", epsilon_problem(config.selection.epsilon)),
        ("selection.top_k", top_k_problem(config.selection.top_k)),
        ("selection.min_samples", min_samples_problem(config.selection.min_samples)),
        (
            "selection.cluster_similarity",
            cluster_similarity_problem(config.selection.cluster_similarity),
        ),
        ("selection.anomaly_share", anomaly_share_problem(config.selection.anomaly_share)),
    ):
        if problem:
            raise ConfigError(f"{file}: {key}: {problem}")
    checks = [
        (
            0.0 <= config.training.validation_split < 1.0,
            "training.validation_split",
            "must be in [0, 1)",
        ),
        (config.training.poll_interval_s > 0, "training.poll_interval_s", "must be positive"),
        (
            config.budget.max_budget_usd is None or config.budget.max_budget_usd >= 0,
            "budget.max_budget_usd",
            "must be >= 0 or null",
        ),
        (
            config.budget.max_minutes is None or config.budget.max_minutes > 0,
            "budget.max_minutes",
            "must be > 0 or null",
        ),
        (config.openai.max_retries >= 0, "openai.max_retries", "must be >= 0"),
        (
            config.gate.holdout_every >= 2,
            "gate.holdout_every",
            "must be at least 2 (every n-th example is held out)",
        ),
        (config.gate.max_cases >= 1, "gate.max_cases", "must be at least 1"),
        (config.gate.margin >= 0, "gate.margin", "must be >= 0"),
        (config.gate.tolerance >= 0, "gate.tolerance", "must be >= 0"),
        (config.gate.min_slice_cases >= 1, "gate.min_slice_cases", "must be at least 1"),
        (config.gate.max_reply_tokens >= 1, "gate.max_reply_tokens", "must be at least 1"),
        (config.loop.min_new_logs >= 0, "loop.min_new_logs", "must be >= 0"),
        (config.loop.min_new_feedback >= 0, "loop.min_new_feedback", "must be >= 0"),
        (config.loop.max_cycles_per_day >= 1, "loop.max_cycles_per_day", "must be at least 1"),
        (config.azure.max_retries >= 0, "azure.max_retries", "must be >= 0"),
        (config.together.max_retries >= 0, "together.max_retries", "must be >= 0"),
        (config.fireworks.max_retries >= 0, "fireworks.max_retries", "must be >= 0"),
    ]
    for ok, key, message in checks:
        if not ok:
            raise ConfigError(f"{file}: {key}: {message}")
    problem = duration_problem(config.loop.interval)
    if problem:
        raise ConfigError(f"{file}: loop.interval: {problem}")
    for model, price in config.budget.prices.items():
        if price <= 0:
            raise ConfigError(
                f"{file}: budget.prices.{model}: price must be positive USD per 1M tokens"
            )
    for key, value in config.schedule.items():
        provider = key.partition("/")[0]
        if provider not in PROVIDER_NAMES or provider == "local":
            hosted = ", ".join(p for p in PROVIDER_NAMES if p != "local")
            raise ConfigError(
                f"{file}: schedule.{key}: unknown provider {provider!r}; write <provider> (its "
                f"last day of new jobs) or <provider>/<model> (a model's shutdown), provider one "
                f"of {hosted}"
            )
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"{file}: schedule.{key}: expected a date like 2027-01-06, got {value!r}"
            ) from None


def _resolve_provider(training: TrainingConfig, file: str) -> None:
    """``training.trainer`` is the deprecated name of ``training.provider``: read it as that,
    once."""
    if training.trainer is None:
        return
    if training.provider not in ("openai", training.trainer):
        raise ConfigError(
            f"{file}: training.trainer: {training.trainer!r} contradicts training.provider: "
            f"{training.provider!r}; training.trainer is the old name of training.provider, "
            f"keep only training.provider"
        )
    training.provider, training.trainer = training.trainer, None


def _deep_copy(config: Config) -> Config:
    return copy.deepcopy(config)


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value
