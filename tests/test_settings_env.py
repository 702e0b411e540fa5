import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "config" / "settings.py"
VARIABLES = ["DATABASE_URL", "REDIS_URL", "DEBUG", "Q_WORKERS", "Q_TIMEOUT", "TIME_ZONE"]


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " True "])
def test_env_bool_true_when_set_to_a_true_word(monkeypatch, raw):
    monkeypatch.setenv("RELANCE_FLAG", raw)
    assert env_bool("RELANCE_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_false_when_set_to_a_false_word(monkeypatch, raw):
    monkeypatch.setenv("RELANCE_FLAG", raw)
    assert env_bool("RELANCE_FLAG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_default_when_unset(monkeypatch, default):
    monkeypatch.delenv("RELANCE_FLAG", raising=False)
    assert env_bool("RELANCE_FLAG", default) is default


def test_env_bool_raises_naming_the_variable_when_not_a_boolean(monkeypatch):
    monkeypatch.setenv("RELANCE_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="RELANCE_FLAG.*'maybe'"):
        env_bool("RELANCE_FLAG", False)


def test_env_int_parses_when_set(monkeypatch):
    monkeypatch.setenv("RELANCE_NUMBER", "42")
    assert env_int("RELANCE_NUMBER", 7) == 42


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_env_int_default_when_unset_or_blank(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("RELANCE_NUMBER", raising=False)
    else:
        monkeypatch.setenv("RELANCE_NUMBER", raw)
    assert env_int("RELANCE_NUMBER", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "4.5", "12abc"])
def test_env_int_raises_naming_the_variable_when_not_an_integer(monkeypatch, raw):
    monkeypatch.setenv("RELANCE_NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="RELANCE_NUMBER"):
        env_int("RELANCE_NUMBER", 7)


def test_env_list_splits_on_commas_and_drops_blanks_when_set(monkeypatch):
    monkeypatch.setenv("RELANCE_HOSTS", " a.example , b.example,, ")
    assert env_list("RELANCE_HOSTS", ["x"]) == ["a.example", "b.example"]


def test_env_list_and_str_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("RELANCE_HOSTS", raising=False)
    assert env_list("RELANCE_HOSTS", ["x"]) == ["x"]
    assert env_str("RELANCE_HOSTS", "fallback") == "fallback"


@pytest.fixture
def load_settings(monkeypatch, tmp_path):
    """Evaluate config/settings.py afresh under a given environment, without touching Django."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELANCE_VAR_DIR", str(tmp_path / "var"))

    def load(**environ: str) -> dict:
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_sqlite_and_orm_broker_when_nothing_is_configured(load_settings, tmp_path):
    settings = load_settings()

    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == tmp_path / "var" / "relance.sqlite3"
    assert settings["Q_CLUSTER"]["orm"] == "default"
    assert "redis" not in settings["Q_CLUSTER"]
    assert settings["TIME_ZONE"] == "Europe/Paris"
    assert settings["USE_TZ"] is True


def test_postgresql_when_database_url_points_to_it(load_settings):
    settings = load_settings(DATABASE_URL="postgres://relance:secret@db.internal:5433/relance")

    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "db.internal"
    assert (database["PORT"], database["NAME"]) == (5433, "relance")


def test_redis_broker_when_redis_url_is_set(load_settings):
    settings = load_settings(REDIS_URL="redis://127.0.0.1:6379/3")

    assert settings["Q_CLUSTER"]["redis"] == "redis://127.0.0.1:6379/3"
    assert "orm" not in settings["Q_CLUSTER"]


def test_task_timeout_stays_below_retry_when_q_timeout_is_set(load_settings):
    settings = load_settings(Q_TIMEOUT="120", Q_WORKERS="4")

    cluster = settings["Q_CLUSTER"]
    assert (cluster["workers"], cluster["timeout"]) == (4, 120)
    assert cluster["timeout"] < cluster["retry"]


def test_settings_refuse_to_load_when_debug_is_not_a_boolean(load_settings):
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        load_settings(DEBUG="sometimes")
