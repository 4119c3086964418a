"""Settings that guard the edge: the signing key's strength and how it is written, the proxies whose
forwarded addresses are believed, and the limits on slow or many connections."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest

from insights.dev.kafka_local import LocalKafka
from insights.settings import Settings, SettingsError


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env=env, data_dir=tmp_path)


@pytest.mark.parametrize("weak", ["x", "a" * 31, "my-password"])
def test_a_short_secret_is_refused_with_a_way_to_make_a_good_one(tmp_path: Path, weak: str) -> None:
    with pytest.raises(SettingsError, match=r"at least 32 bytes.*openssl rand -hex 32") as refused:
        settings(tmp_path, INSIGHTS_SECRET=weak).secret()
    assert len(weak) == 1 or weak not in str(refused.value)  # the key never appears in a message


def test_a_secret_of_32_bytes_is_accepted(tmp_path: Path) -> None:
    assert settings(tmp_path, INSIGHTS_SECRET="k" * 32).secret() == "k" * 32


def test_a_generated_secret_is_long_private_and_kept(tmp_path: Path) -> None:
    first = settings(tmp_path).secret()
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "secret").st_mode) == 0o600
    assert settings(tmp_path).secret() == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # no temporary file left behind


def test_a_failed_write_leaves_no_empty_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(nbytes: int) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(secrets, "token_urlsafe", disk_full)
    with pytest.raises(OSError, match="No space"):
        settings(tmp_path).secret()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert len(settings(tmp_path).secret()) >= 32


def test_an_empty_secret_file_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("")
    with pytest.raises(SettingsError, match="delete the file"):
        settings(tmp_path).secret()


def test_previous_secrets_and_trusted_proxies_are_lists(tmp_path: Path) -> None:
    read = settings(
        tmp_path,
        INSIGHTS_PREVIOUS_SECRETS=" old-one , older ",
        INSIGHTS_TRUSTED_PROXIES="10.0.0.0/8, 192.168.1.7,::1",
    )
    assert read.previous_secrets == ("old-one", "older")
    assert read.trusted_proxies == ("10.0.0.0/8", "192.168.1.7", "::1")
    assert settings(tmp_path).trusted_proxies == ()  # no forwarded address is believed by default


def test_a_trusted_proxy_that_is_no_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"INSIGHTS_TRUSTED_PROXIES.*proxy\.example"):
        settings(tmp_path, INSIGHTS_TRUSTED_PROXIES="proxy.example")


def test_the_local_kafkas_java_options_are_split_as_a_shell_does(tmp_path: Path) -> None:
    options = '-Xmx1g -XX:TieredStopAtLevel=1 "-Dinsights.note=two words"'
    found = settings(tmp_path, INSIGHTS_KAFKA_JAVA_OPTIONS=options).kafka_java_options
    assert found == ("-Xmx1g", "-XX:TieredStopAtLevel=1", "-Dinsights.note=two words")
    assert settings(tmp_path).kafka_java_options == ()
    broker = LocalKafka(tmp_path / "kafka", java_options=found)
    command = broker._java_command("java", tmp_path / "libs")
    assert command[command.index("-Xmx512m") + 1 :].count("-Xmx1g") == 1  # after the default: it wins


@pytest.mark.parametrize("given", ["Xmx1g", "-Xmx1g 'unclosed"])
def test_java_options_that_are_no_options_are_refused(tmp_path: Path, given: str) -> None:
    with pytest.raises(SettingsError, match="INSIGHTS_KAFKA_JAVA_OPTIONS"):
        settings(tmp_path, INSIGHTS_KAFKA_JAVA_OPTIONS=given)


def test_realtime_counts_accepted_events_before_their_flush_unless_turned_off(tmp_path: Path) -> None:
    assert settings(tmp_path).realtime_unflushed is True
    assert settings(tmp_path, INSIGHTS_REALTIME_UNFLUSHED=" Off ").realtime_unflushed is False
    with pytest.raises(SettingsError, match="INSIGHTS_REALTIME_UNFLUSHED must be `on` or `off`"):
        settings(tmp_path, INSIGHTS_REALTIME_UNFLUSHED="no")
